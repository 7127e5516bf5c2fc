//! Chat behaviours of the original checked end to end (issue 20): the technical
//! footer, answers without live streaming, and `/reset` (the active provider's
//! session only, the model kept).

use super::{CHAT, TgRig};
use serde_json::json;

#[tokio::test]
async fn the_technical_footer_names_model_tokens_and_time() {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["scene"] = json!({"technical_footer": true});
    })
    .await;
    let sent = rig.say("hello footer");
    let msgs = rig.wait_done(sent.message_id, "tokens").await;
    let text: String = msgs.iter().filter_map(|m| m.text.clone()).collect();
    assert!(text.contains("You said: \"hello footer\""), "{text}");
    let footer = text.rsplit("---").next().unwrap_or_default();
    assert!(footer.contains("sonnet | "), "{footer}");
    assert!(footer.contains(" tokens ("), "{footer}");
    assert!(footer.trim_end().ends_with('s'), "the time last: {footer}");
}

#[tokio::test]
async fn without_streaming_the_final_answer_arrives_in_one_message_at_the_end() {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["streaming"] = json!({"enabled": false, "mode": "edit"});
    })
    .await;
    let sent = rig.say("MOCK_TOOL_CMD<<echo quiet>>");
    let msgs = rig.wait_done(sent.message_id, "The tool ran").await;
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    let text = msgs[0].text.clone().unwrap_or_default();
    assert!(
        text.contains("Its output was: quiet"),
        "the final answer: {text}"
    );
    // Nothing of the answer was shown before it was complete: no live edits carry
    // its text (the tool indicator may be edited in place).
    let edits_with_text = rig
        .tg
        .calls()
        .iter()
        .filter(|c| c.is("editMessageText"))
        .filter(|c| {
            c.param_str("text")
                .is_some_and(|t| t.contains("I will run"))
        })
        .count();
    assert_eq!(edits_with_text, 0, "the model's text was not streamed");
    assert_eq!(rig.tg.count("sendMessageDraft"), 0);
}

#[tokio::test]
async fn reset_starts_a_new_session_of_the_active_provider_and_keeps_the_model() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let first = rig.say("remember me");
    rig.wait_done(first.message_id, "prior_assistant_turns=0")
        .await;
    let second = rig.say("and again");
    rig.wait_done(second.message_id, "prior_assistant_turns=1")
        .await;
    let reset = rig.say("/reset");
    rig.wait_text(
        CHAT,
        reset.message_id,
        "Session reset",
        std::time::Duration::from_secs(30),
    )
    .await;
    let third = rig.say("after the reset");
    rig.wait_done(third.message_id, "prior_assistant_turns=0")
        .await;
    let requests = rig.mock.requests();
    let (first, last) = (&requests[0], requests.last().expect("a request"));
    assert!(first.model.is_some());
    assert_eq!(last.model, first.model, "the model is kept");
}

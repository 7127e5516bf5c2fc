//! What a user does on the page: sign in, chat, stop, send and get files, press
//! buttons, survive a restart of the agent.

use super::{PageRig, TOKEN, free_port, target_dir};
use crate::support::mock_llm::Reply;
use fantoccini::Locator;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The Markdown answer of `MOCK_MD`, streamed in these pieces; it ends with
/// `END-OF-ANSWER` and carries markup that must stay text.
const MARKDOWN: [&str; 8] = [
    "## Plan\n\nHere is **bold**, *italic* and `inline code`.\n\n",
    "```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n\n",
    "- first step\n- second step\n\n",
    "1. one\n2. two\n\n",
    "A [safe link](https://example.com/docs) and a [bad one](javascript:alert(1)).\n\n",
    "Markup stays text: <img src=x onerror=alert(1)> <b>not bold</b>\n\n",
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n",
    "END-OF-ANSWER",
];

/// What the finished `MOCK_MD` answer looks like in the page.
const RENDERED: &str = "
    const m = Array.from(document.querySelectorAll('.msg.bot'))
        .find(x => x.textContent.includes('END-OF-ANSWER'));
    const b = m.querySelector('.body');
    const texts = sel => Array.from(b.querySelectorAll(sel)).map(e => e.textContent);
    return {
        heading: texts('h4'),
        strong: texts('strong'),
        em: texts('em'),
        code: texts('p code'),
        pre: texts('pre code'),
        ul: texts('ul li'),
        ol: texts('ol li'),
        cells: texts('td'),
        links: Array.from(b.querySelectorAll('a')).map(a => [a.textContent, a.getAttribute('href'), a.rel]),
        imgs: b.querySelectorAll('img').length,
        bolds: b.querySelectorAll('b').length,
        text: b.textContent,
    };";

#[tokio::test]
async fn the_page_signs_in_streams_a_markdown_answer_and_reads_on_a_phone() {
    let rig = PageRig::start(0, 1000, 900).await;
    rig.browser.client.goto(&rig.url()).await.unwrap();
    signs_in_after_a_wrong_token(&rig).await;
    rig.browser
        .js(
            "window.violations = [];
             document.addEventListener('securitypolicyviolation',
                 e => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));",
            Vec::new(),
        )
        .await;
    streams_markdown(&rig).await;

    // A tool call shows as activity, then the answer.
    rig.say("MOCK_TOOL").await;
    rig.wait_answer("The tool ran").await;
    let tools = rig
        .browser
        .js(
            "return Array.from(document.querySelectorAll('.msg.bot .tool')).map(t => t.textContent);",
            Vec::new(),
        )
        .await;
    assert_eq!(tools, json!(["Bash"]));

    let png = rig.browser.client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(target_dir().join("api-page.png"), &png).unwrap();
    fits_a_phone(&rig).await;
    let violations = rig
        .browser
        .js("return window.violations;", Vec::new())
        .await;
    assert_eq!(violations, json!([]), "the page keeps to its CSP");
}

/// A wrong token is refused on the sign-in form; the right one signs in and stays
/// in this tab only, never in the URL.
async fn signs_in_after_a_wrong_token(rig: &PageRig) {
    rig.sign_in("not-the-token", false).await;
    let refusal = rig
        .browser
        .wait_js(
            "the refusal",
            "const e = document.getElementById('login-error');
             return !document.getElementById('login').hidden && e.textContent ? e.textContent : null;",
        )
        .await;
    assert!(
        refusal.as_str().unwrap().to_lowercase().contains("token"),
        "{refusal}"
    );
    rig.sign_in(TOKEN, false).await;
    rig.wait_online().await;
    let where_ = rig
        .browser
        .js(
            "return [location.href, sessionStorage.getItem('ductor.api.token'),
                     localStorage.getItem('ductor.api.token'),
                     document.getElementById('model').textContent];",
            Vec::new(),
        )
        .await;
    assert!(!where_[0].as_str().unwrap().contains(TOKEN), "{where_}");
    assert_eq!(where_[1], json!(TOKEN), "kept for this tab");
    assert_eq!(where_[2], Value::Null, "not remembered on the device");
    assert!(where_[3].as_str().unwrap().contains("sonnet"), "{where_}");
}

/// `MOCK_MD` streams in place and ends as rendered Markdown whose markup stays text.
async fn streams_markdown(rig: &PageRig) {
    rig.mock.script(
        "MOCK_MD",
        Reply::chunks(MARKDOWN).chunk_delay(Duration::from_millis(300)),
    );
    rig.say("MOCK_MD please").await;
    // The answer grows in place while the Stop button is offered.
    let partial = rig
        .browser
        .wait_js(
            "a streaming answer",
            "const m = document.querySelector('.msg.bot.streaming .body');
             return m && m.querySelector('strong') && !document.getElementById('stop').hidden
                 ? m.textContent : null;",
        )
        .await;
    assert!(
        !partial.as_str().unwrap().contains("END-OF-ANSWER"),
        "{partial}"
    );
    rig.wait_answer("END-OF-ANSWER").await;
    let r = rig.browser.js(RENDERED, Vec::new()).await;
    assert_eq!(r["heading"], json!(["Plan"]), "{r:#}");
    assert_eq!(r["strong"], json!(["bold"]), "{r:#}");
    assert_eq!(r["em"], json!(["italic"]), "{r:#}");
    assert_eq!(r["code"], json!(["inline code"]), "{r:#}");
    assert_eq!(
        r["pre"],
        json!(["fn main() {\n    println!(\"hi\");\n}"]),
        "{r:#}"
    );
    assert_eq!(r["ul"], json!(["first step", "second step"]), "{r:#}");
    assert_eq!(r["ol"], json!(["one", "two"]), "{r:#}");
    assert_eq!(r["cells"], json!(["1", "2"]), "{r:#}");
    assert_eq!(
        r["links"],
        json!([[
            "safe link",
            "https://example.com/docs",
            "noopener noreferrer nofollow"
        ]]),
        "only the http(s) link is a link: {r:#}"
    );
    assert_eq!(
        (r["imgs"].as_u64(), r["bolds"].as_u64()),
        (Some(0), Some(0))
    );
    let text = r["text"].as_str().unwrap();
    assert!(
        text.contains("<img src=x onerror=alert(1)> <b>not bold</b>"),
        "{text}"
    );
    assert!(
        rig.browser
            .js("return document.getElementById('stop').hidden;", Vec::new())
            .await
            .as_bool()
            .unwrap(),
        "no Stop button once the answer is complete"
    );
}

/// On a phone-sized window nothing runs off the side and the composer is in view.
async fn fits_a_phone(rig: &PageRig) {
    rig.browser.client.set_window_size(390, 844).await.unwrap();
    let fit = rig
        .browser
        .wait_js(
            "the page to fit a phone",
            "const r = document.getElementById('send').getBoundingClientRect();
             const w = document.documentElement.scrollWidth;
             return window.innerWidth <= 420 ? [w, window.innerWidth, r.right, r.bottom, window.innerHeight] : null;",
        )
        .await;
    let n = |i: usize| fit[i].as_f64().unwrap();
    assert!(n(0) <= n(1), "no horizontal scrolling: {fit}");
    assert!(n(2) <= n(1) && n(3) <= n(4), "Send is on screen: {fit}");
    std::fs::write(
        target_dir().join("api-page-phone.png"),
        rig.browser.client.screenshot().await.unwrap(),
    )
    .unwrap();
}

#[tokio::test]
async fn stop_ends_a_slow_answer_and_its_cli() {
    let rig = PageRig::start(0, 1000, 900).await;
    rig.open_signed_in().await;
    rig.say("MOCK_SLOW").await;
    rig.browser
        .wait_js(
            "slow chunks",
            "const m = document.querySelector('.msg.bot.streaming .body');
             return m && m.textContent.includes('slow-chunk-3 ')
                 && !document.getElementById('stop').hidden;",
        )
        .await;
    assert!(!rig.cli_processes().is_empty(), "the CLI runs");
    rig.click("stop").await;
    rig.browser
        .wait_js(
            "the answer marked stopped",
            "const s = document.querySelector('.msg.bot .stopped');
             return s && document.getElementById('stop').hidden ? s.textContent : null;",
        )
        .await;
    let start = Instant::now();
    while !rig.cli_processes().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "CLI left after Stop: {:?}",
            rig.cli_processes()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let texts = rig.bot_texts().await;
    assert_eq!(texts.len(), 1, "one answer, no duplicate: {texts:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(rig.bot_texts().await, texts, "nothing streams after Stop");
    assert!(!texts[0].contains("slow-chunk-149"), "{texts:?}");

    rig.say("after the stop").await;
    rig.wait_answer("You said: \"after the stop\"").await;
}

#[tokio::test]
async fn a_file_goes_up_and_the_answers_files_come_down() {
    let rig = PageRig::start(0, 1000, 900).await;
    rig.open_signed_in().await;

    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "hello from the browser\n").unwrap();
    rig.browser
        .client
        .find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(&notes.display().to_string())
        .await
        .unwrap();
    let prompt = rig.wait_prompt("[INCOMING FILE]").await;
    let stored: Vec<_> = walk(&rig.workspace().join("api_files"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "notes.txt"))
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        std::fs::read_to_string(&stored[0]).unwrap(),
        "hello from the browser\n"
    );
    assert!(
        prompt.contains(&stored[0].display().to_string()),
        "{prompt}"
    );
    rig.browser
        .wait_js(
            "the upload in the conversation",
            "return Array.from(document.querySelectorAll('.msg.user'))
                 .some(m => m.textContent.startsWith('Sent notes.txt'));",
        )
        .await;

    let out = rig.workspace().join("output_to_user");
    std::fs::create_dir_all(&out).unwrap();
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(40, 30, image::Rgb([40, 120, 200]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    std::fs::write(out.join("chart.png"), png.get_ref()).unwrap();
    std::fs::write(out.join("report.txt"), "quarterly numbers\n").unwrap();
    rig.mock.script(
        "MOCK_SEND",
        Reply::text(format!(
            "Here you are: <file:{}> <file:{}>",
            out.join("chart.png").display(),
            out.join("report.txt").display()
        )),
    );
    rig.say("MOCK_SEND").await;
    rig.wait_answer("Here you are").await;
    let img = rig
        .browser
        .wait_js(
            "the image preview",
            "const i = document.querySelector('.msg.bot .file img');
             return i && i.complete && i.naturalWidth > 0
                 ? [i.naturalWidth, i.naturalHeight, i.src.slice(0, 5)] : null;",
        )
        .await;
    assert_eq!(img, json!([40, 30, "blob:"]));
    rig.browser
        .client
        .find(Locator::XPath("//button[contains(., 'report.txt')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let saved = rig.browser.downloads().join("report.txt");
    let start = Instant::now();
    while std::fs::read_to_string(&saved).ok().as_deref() != Some("quarterly numbers\n") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no download in {:?}",
            walk(&rig.browser.downloads())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn model_buttons_are_answered_as_actions() {
    let rig = PageRig::start(0, 1000, 900).await;
    rig.open_signed_in().await;
    rig.say("/model").await;
    press(&rig, "ms:p:codex").await;
    press(&rig, "ms:m:gpt-5.5").await;
    let asked_effort = rig
        .browser
        .wait_js(
            "the effort or the switch",
            "const t = Array.from(document.querySelectorAll('.msg.bot')).map(m => m.textContent).join('\\n');
             return t.includes('Model switched') ? 'switched'
                 : document.querySelector('button[data-action^=\"ms:r:\"]:not(:disabled)') ? 'effort' : null;",
        )
        .await;
    if asked_effort == json!("effort") {
        press(&rig, "ms:r:medium:gpt-5.5").await;
    }
    rig.wait_answer("Model switched").await;
    let config: Value =
        serde_json::from_slice(&std::fs::read(rig.home.root.join("config/config.json")).unwrap())
            .unwrap();
    assert_eq!(
        (config["provider"].as_str(), config["model"].as_str()),
        (Some("codex"), Some("gpt-5.5"))
    );
    let pressed = rig
        .browser
        .js(
            "return document.querySelector('button[data-action=\"ms:p:codex\"]').disabled;",
            Vec::new(),
        )
        .await;
    assert_eq!(pressed, json!(true), "a pressed menu is settled");
}

/// Waits for an enabled button with action `id` and clicks it.
async fn press(rig: &PageRig, id: &str) {
    let css = format!("button[data-action=\"{id}\"]:not(:disabled)");
    rig.browser
        .wait_js(
            &format!("a button {id}"),
            &format!(
                "return !!document.querySelector({});",
                Value::String(css.clone())
            ),
        )
        .await;
    rig.browser
        .client
        .find(Locator::Css(&css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_page_reconnects_when_the_agent_comes_back() {
    let mut rig = PageRig::start(free_port(), 1000, 900).await;
    rig.open_signed_in().await;
    rig.say("before").await;
    rig.wait_answer("You said: \"before\"").await;

    // The whole ductor goes away and comes back on the same port.
    drop(rig.daemon.take());
    rig.browser
        .wait_js(
            "the page to notice",
            "return document.getElementById('conn').dataset.state !== 'online';",
        )
        .await;
    std::fs::remove_file(rig.home.root.join("run/api.port")).ok();
    rig.daemon = Some(rig.home.start_with_env(&rig.cli.vars()));
    rig.home.api_addr().await;
    rig.wait_online().await;
    rig.say("after").await;
    rig.wait_answer("You said: \"after\"").await;
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

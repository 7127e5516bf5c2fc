//! Long answers split over several messages, and random event orders with random API errors.

use std::fmt::Write as _;
use std::time::Duration;

use super::fake::{FakeChat, Op, check_html};
use super::*;
use crate::chat::api::ApiError;
use crate::chat::stream::SystemIndicator;
use crate::provider::event::Event;
use crate::transport::telegram::format::{MESSAGE_LIMIT, visible_len};

/// About `n` characters of varied Markdown.
fn long_answer(n: usize) -> String {
    let mut s = String::from("# Report\n\n");
    let mut i = 0;
    while s.len() < n {
        let _ = match i % 5 {
            0 => write!(
                s,
                "Paragraph {i} has **bold** words, `code` and <angles> & ampersands. {}\n\n",
                "It goes on for a while to fill space. ".repeat(4)
            ),
            1 => write!(s, "- item {i} one\n- item {i} two with _emphasis_\n\n"),
            2 => write!(
                s,
                "```rust\nfn f{i}() {{\n    let x = \"<tag>\";\n}}\n```\n\n"
            ),
            3 => write!(s, "> quoted line {i}\n> second line\n\n"),
            _ => write!(s, "Ünïcödé 😀 line {i} {}\n\n", "mixed text ".repeat(10)),
        };
        i += 1;
    }
    s.trim_end().to_owned()
}

#[tokio::test(start_paused = true)]
async fn a_long_answer_is_split_without_losing_or_doubling_text() {
    let chat = FakeChat::new();
    let h = editor(&chat, StreamSettings::default());
    let full = long_answer(12_000);
    stream_block(&h, &full, 60, 30).await;
    wait_ms(3000).await;
    assert!(
        chat.messages().len() >= 2,
        "the reply was split while streaming"
    );
    let live = squash(&chat_plain(&chat));
    let expected = squash(&expected_plain(&full));
    assert!(
        expected.starts_with(&live),
        "live view is a prefix of the answer"
    );

    let done = h.finish(completed()).await;
    assert!(
        chat.calls().iter().all(|c| c.err.is_none()),
        "Telegram never refused a chunk"
    );
    let msgs = chat.messages();
    assert!(msgs.len() >= 3, "{} messages", msgs.len());
    for (_, m) in &msgs {
        assert!(m.markup);
        check_html(&m.text).unwrap_or_else(|e| panic!("{e}"));
        assert!(visible_len(&m.text) <= MESSAGE_LIMIT);
    }
    assert_eq!(squash(&chat_plain(&chat)), expected);
    assert_eq!(
        done.message_ids,
        msgs.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>()
    );
    assert_eq!(msgs[0].1.reply_to, Some(user_msg()));
    assert!(msgs[1..].iter().all(|(_, m)| m.reply_to.is_none()));
}

#[tokio::test(start_paused = true)]
async fn an_answer_over_the_message_limit_ends_with_a_notice_and_comes_whole() {
    for append_mode in [false, true] {
        let chat = FakeChat::new();
        let settings = StreamSettings {
            max_messages: 3,
            overflow_notice: "continued in the file".into(),
            append_mode,
            ..StreamSettings::default()
        };
        let h = editor(&chat, settings);
        let full = long_answer(30_000);
        stream_block(&h, &full, 60, 30).await;
        wait_ms(3000).await;
        assert!(
            chat.messages().len() <= 3,
            "the limit holds while streaming"
        );
        let done = h.finish(completed()).await;
        let msgs = chat.messages();
        assert_eq!(msgs.len(), 3, "append mode {append_mode}");
        let last = &msgs.last().unwrap().1.text;
        assert!(last.contains("continued in the file"), "{last}");
        assert_eq!(done.whole.as_deref(), Some(full.as_str()));
        let shown: String = msgs[..2].iter().map(|(_, m)| plain(m)).collect();
        assert!(
            squash(&expected_plain(&full)).starts_with(&squash(&shown)),
            "the messages are the start of the answer (append mode {append_mode})"
        );
    }
    // Within the limit nothing changes.
    let chat = FakeChat::new();
    let h = editor(
        &chat,
        StreamSettings {
            max_messages: 3,
            ..StreamSettings::default()
        },
    );
    stream_block(&h, "short answer", 60, 30).await;
    let done = h.finish(completed()).await;
    assert_eq!(done.whole, None);
}

#[tokio::test(start_paused = true)]
async fn a_shorter_final_text_deletes_surplus_messages() {
    let chat = FakeChat::new();
    let h = editor(&chat, StreamSettings::default());
    let long = long_answer(9000);
    stream_block(&h, &long, 500, 100).await;
    wait_ms(3000).await;
    assert!(chat.messages().len() >= 2);
    h.event(block("")).await;
    h.event(block("Actually, the short version.")).await;
    let done = h.finish(completed()).await;
    assert_eq!(
        squash(&chat_plain(&chat)),
        squash(&format!(
            "{}Actually, the short version.",
            expected_plain(&long)
        ))
    );
    assert_eq!(done.message_ids.len(), chat.messages().len());

    let chat = FakeChat::new();
    let h = editor(&chat, StreamSettings::default());
    for piece in long.split_inclusive("\n\n") {
        h.event(delta(piece)).await;
        wait_ms(100).await;
    }
    wait_ms(3000).await;
    assert!(chat.messages().len() >= 2);
    h.event(block("Replaced by a short block.")).await;
    let done = h.finish(completed()).await;
    let msgs = chat.messages();
    assert_eq!(msgs.len(), 1, "surplus messages deleted");
    assert_eq!(plain(&msgs[0].1), "Replaced by a short block.");
    assert_eq!(done.message_ids, vec![msgs[0].0.clone()]);
    assert!(chat.calls().iter().any(|c| c.op == Op::Delete));
}

/// xorshift64*: deterministic randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const PIECES: [&str; 14] = [
    "Hello ",
    "world. ",
    "**bo",
    "ld** ",
    "<fi",
    "le:/tmp/a.txt> ",
    "[button:",
    "Go]\n",
    "\n\n",
    "```\ncode\n",
    "😀é",
    "&<>\"",
    "ok ",
    "long sentence goes here and on and on. ",
];

fn random_event(rng: &mut Rng, current: &mut String) -> Event {
    match rng.below(12) {
        0..=5 => {
            let mut piece = PIECES[rng.below(PIECES.len() as u64) as usize].to_owned();
            if rng.below(10) == 0 {
                piece = piece.repeat(300);
            }
            current.push_str(&piece);
            Event::TextDelta { text: piece }
        }
        6 => {
            let whole = match rng.below(3) {
                0 => std::mem::take(current),
                1 => {
                    current.clear();
                    "A different block.".into()
                }
                _ => {
                    current.clear();
                    String::new()
                }
            };
            Event::Text { text: whole }
        }
        7 => Event::ToolStarted {
            id: None,
            name: ["Bash", "Read", "web_fetch"][rng.below(3) as usize].into(),
            summary: String::new(),
        },
        8 => Event::Thinking {
            text: String::new(),
        },
        9 => Event::Compacting,
        10 => Event::ToolFinished {
            id: None,
            ok: true,
            excerpt: String::new(),
        },
        _ => Event::Usage(crate::provider::event::Usage::default()),
    }
}

#[tokio::test(start_paused = true)]
async fn random_event_orders_and_api_errors_never_break_the_editor() {
    for seed in 1..40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let faulty = seed % 2 == 0;
        let mut script_rng = Rng(seed);
        let chat = FakeChat::scripted(Box::new(move |_, _, _| {
            if !faulty {
                return None;
            }
            match script_rng.below(20) {
                0 => Some(ApiError::RetryAfter(Duration::from_secs(1))),
                1 => Some(ApiError::BadRequest("nope".into())),
                2 => Some(ApiError::BadMarkup("bad".into())),
                3 => Some(ApiError::NotFound("gone".into())),
                4 => Some(ApiError::Network("reset".into())),
                5 => Some(ApiError::NotModified),
                _ => None,
            }
        }));
        let settings = StreamSettings {
            append_mode: seed % 5 == 0,
            min_chars: rng.below(300) as usize,
            ..StreamSettings::default()
        };
        let h = editor(&chat, settings);
        let mut current = String::new();
        for _ in 0..rng.below(60) {
            h.event(random_event(&mut rng, &mut current)).await;
            if rng.below(15) == 0 {
                h.system(SystemIndicator::Recovering).await;
            }
            wait_ms(rng.below(2500)).await;
        }
        let end = match rng.below(3) {
            0 => Finish::Cancelled,
            1 => Finish::Failed {
                message: "failed".into(),
            },
            _ => completed(),
        };
        let done = h.finish(end).await;
        if !faulty {
            assert!(done.delivered, "seed {seed}");
            let calls = chat.calls();
            assert!(
                calls.iter().all(|c| c.err.is_none()),
                "seed {seed}: {calls:#?}"
            );
        }
        for (_, m) in chat.messages() {
            assert!(visible_len(&m.text) <= MESSAGE_LIMIT);
        }
    }
}

//! Test kit shared by the integration tests: fakes at the edges only.
//! - `mock_llm`: a mock model API (Anthropic Messages, `OpenAI` Responses, Gemini SSE)
//!   scripted by keywords, plus the offline environment for the genuine CLIs.
//! - `fake_telegram`: a fake Bot API server over real HTTP that behaves like Telegram.
#![allow(dead_code)]

pub mod daemon;
pub mod fake_telegram;
pub mod mock_llm;

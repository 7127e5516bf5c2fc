//! Test kit shared by the integration tests: fakes at the edges only.
//! - `mock_llm`: a mock model API (Anthropic Messages, `OpenAI` Responses, Gemini SSE)
//!   scripted by keywords.
//! - `clis`: where the genuine CLIs are and an offline environment for them (pointed at `mock_llm`).
//! - `fake_telegram`: a fake Bot API server over real HTTP that behaves like Telegram.
//! - `daemon`: the real `ductor` binaries in a temporary home.
//! - `golden`: whether golden files may be rewritten (`UPDATE_GOLDEN`, never under CI).
//! - `synapse`: a real Synapse homeserver on loopback for the Matrix transport's tests.
//! - `sandbox`: a private Docker daemon, a private podman and a test image for the sandbox backends.
#![allow(dead_code)]

pub mod clis;
pub mod daemon;
pub mod fake_telegram;
pub mod golden;
pub mod mock_llm;
pub mod sandbox;
pub mod synapse;

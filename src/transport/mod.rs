//! Chat transports. Each transport turns chat updates into turns for the session
//! actors and renders their events back into the chat.

pub mod chat_api;
pub mod telegram;

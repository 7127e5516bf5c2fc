//! Chat transports: each turns its service's updates into input for the command
//! layer ([`crate::ops`]) and writes through the shared chat machinery
//! ([`crate::chat`]). A new transport is a new folder here implementing
//! [`crate::chat::api::ChatApi`], [`crate::chat::api::Dialect`] and
//! [`crate::address::Directory`].

pub mod api;
pub mod matrix;
pub mod probe;
pub mod telegram;

#[cfg(test)]
pub mod memory;

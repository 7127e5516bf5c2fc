//! The webhook server over real HTTP: the real server on 127.0.0.1 (a free port) with
//! a temporary `webhooks.json` and a recording dispatcher; requests are written by
//! hand on a TCP stream, so oversized and chunked bodies behave as on the wire.

mod harness;

mod files;
mod routes;
mod signatures;

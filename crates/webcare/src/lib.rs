//! The webcare desk as a library: its configuration and its one composition root
//! ([`app::App::start`]), used by the `webcare` binary (`serve`, `demo`) and the end-to-end tests.
//! It may use every crate of the workspace; nothing but the binary and the tests uses it.
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod http;
pub mod log_mask;
pub mod metrics;
pub mod roles;

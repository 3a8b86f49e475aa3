#![forbid(unsafe_code)]
//! The consent domain of sivo-consent, free of any Workers type so that it is tested
//! natively and fast with `cargo test`. Time and randomness come in as arguments; the worker
//! crate owns the platform (KV, fetch, the clock, `getrandom`).

// The concerns, each a folder.
pub mod consent;
pub mod dashboard;
pub mod gate;
pub mod proof;
pub mod visitor;

// What they all share.
pub mod clock;
pub mod config;
pub mod failure;
pub mod html;
pub mod i18n;
pub mod ip;
pub mod log;
pub mod paths;
pub mod site;

/// Lower-case hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#![forbid(unsafe_code)]
//! The consent domain of sivo-consent, free of any Workers type so that it is tested
//! natively and fast with `cargo test`. Time and randomness come in as arguments; the worker
//! crate owns the platform (KV, fetch, the clock, `getrandom`).

pub mod access;
pub mod audit;
pub mod banner;
pub mod clock;
pub mod config;
pub mod consent;
pub mod consent_cookie;
pub mod cookie_inventory;
pub mod dashboard;
pub mod decide;
pub mod decision_request;
pub mod failure;
pub mod gating;
pub mod html;
pub mod i18n;
pub mod ip;
pub mod log;
pub mod pages;
pub mod paths;
pub mod record;
pub mod record_store;
pub mod rewrite;
pub mod settings_link;
pub mod site;
pub mod stats;
pub mod stats_report;
pub mod store;
pub mod visitor_rights;

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

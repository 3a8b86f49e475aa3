//! sivo-consent: the edge worker in front of sivocenter.com.
//!
//! This crate is the thin layer between the Workers platform and the `consent_core`
//! domain: it reads requests, the clock, KV and the origin, asks the domain what to do,
//! and turns the answers into responses. The JavaScript entry (`src/js/entry.mjs`) calls it
//! through [`edge`] in the protocol of [`protocol`]; every request is read once ([`visit`])
//! and ends in exactly one log line and one statistics call (`Page.finish`).

mod access;
mod admin;
mod audit_log;
mod config;
mod decision;
mod edge;
mod error;
mod isolate;
mod kv_store;
mod log;
mod platform;
mod protocol;
mod proxy;
mod respond;
mod rights;
mod router;
mod served;
mod stats;
mod visit;

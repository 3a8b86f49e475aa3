//! sivo-consent: the edge worker in front of sivocenter.com.
//!
//! This crate is the thin layer between the Workers platform and the `consent_core`
//! domain: it reads requests, the clock, KV and the origin, asks the domain what to do,
//! and turns the answers into responses. The JavaScript entry (`src/js/entry.mjs`) calls it
//! through `entry` in the protocol of `protocol`; every request is read once (`visit`)
//! and ends in exactly one log line and one statistics call (`Page.finish`).

// The concerns, named as in the domain crate (`consent_core`).
mod alerts;
mod consent;
mod dashboard;
mod gate;
mod proof;
mod visitor;

// The request and the platform.
mod config;
mod entry;
mod failure;
mod health;
mod isolate;
mod log;
mod platform;
mod protocol;
mod respond;
mod router;
mod served;
mod visit;

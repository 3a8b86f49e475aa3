//! The request's one log line, written by `Page.finish` whichever path served the request.

use crate::served::Outcome;
use crate::visit::Visit;
use consent_core::log::{Level, RequestLog};
use consent_core::paths;

/// Writes the request's log line: `status` is its answer's, `end_ms` when the answer's head
/// was ready (its `ms` is the time from arrival to then).
pub fn request_line(visit: &Visit, status: u16, outcome: &Outcome, end_ms: u64) {
    let line = RequestLog {
        received_at: visit.now,
        method: &visit.method,
        path: paths::loggable(&visit.path),
        status,
        client_ip: visit.client_ip.as_deref(),
        consent: outcome
            .consent_after
            .unwrap_or_else(|| visit.consent.log_label()),
        country: visit.country.as_deref(),
        duration_ms: end_ms.saturating_sub(visit.now),
        level: outcome.level,
        error: outcome.error.as_deref(),
        cookie_rejected: visit.cookie_rejected.map(|r| r.to_string()).as_deref(),
    }
    .to_json_line();
    let line = wasm_bindgen::JsValue::from(line);
    match outcome.level {
        Level::Error => web_sys::console::error_1(&line),
        Level::Info | Level::Warn => web_sys::console::log_1(&line),
    }
}

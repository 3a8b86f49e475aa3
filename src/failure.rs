//! The worker layer's one error type, and the one function that turns it into a response.
//!
//! Routes return `Result<Served, WorkerError>` and use `?`: a domain [`Failure`] says what
//! went wrong; a JavaScript exception from the runtime becomes [`Failure::Internal`]. Only
//! [`answer`] picks a status, a code and a message, and shows them as a page or JSON by
//! what the client asked for; the detail goes to the log, never to the visitor.

use crate::respond::own;
use crate::served::{Outcome, Served};
use crate::visit::{Header, Visit};
use consent_core::failure::{Failure, Presentation};
use consent_core::log::Level;
use consent_core::visitor::pages::error_page;
use wasm_bindgen::{JsCast, JsValue};

/// Why a request was not answered as intended.
#[derive(Debug)]
pub struct WorkerError(pub Failure);

impl From<Failure> for WorkerError {
    fn from(failure: Failure) -> Self {
        Self(failure)
    }
}

impl From<JsValue> for WorkerError {
    fn from(error: JsValue) -> Self {
        Self(Failure::Internal(describe(&error)))
    }
}

impl From<consent_core::consent::request::BadDecision> for WorkerError {
    fn from(bad: consent_core::consent::request::BadDecision) -> Self {
        Self(bad.into())
    }
}

/// The answer to a request that failed with `error`.
///
/// # Errors
/// Only if the runtime cannot build a response at all.
pub fn answer(error: &WorkerError, visit: &Visit) -> Result<Served, JsValue> {
    let failure = &error.0;
    let presentation =
        Presentation::for_request(visit.header(Header::Accept).as_deref(), visit.is_own_route);
    let (content_type, body) = match presentation {
        Presentation::Page => ("text/html; charset=utf-8", error_page(visit.lang, failure)),
        Presentation::Json => (
            "application/json; charset=utf-8",
            failure.to_json(visit.lang),
        ),
    };
    let response = own(failure.status(), content_type, &body, &failure.headers())?;
    let error = failure.log_detail();
    Ok(Served {
        response,
        outcome: Outcome {
            level: if error.is_some() {
                Level::Error
            } else {
                Level::Info
            },
            error,
            ..Outcome::default()
        },
    })
}

/// A short description of a JavaScript error, for the log.
pub fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

//! The worker's own answers: JSON and HTML pages with safe headers, and the one place that
//! maps failures to HTTP.

use wasm_bindgen::JsValue;
use web_sys::{Headers, Response, ResponseInit};

/// Headers for every answer the worker writes itself (not the origin's pages).
const OWN_HEADERS: [(&str, &str); 4] = [
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
];

/// A response with `body`, `status`, the given content type and the worker's own headers.
///
/// # Errors
/// Only if the runtime refuses to build a response (it does not for these inputs).
pub fn own(
    status: u16,
    content_type: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> Result<Response, JsValue> {
    let headers = Headers::new()?;
    headers.set("content-type", content_type)?;
    for (name, value) in OWN_HEADERS.iter().chain(extra) {
        headers.set(name, value)?;
    }
    let init = ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    let body = (!body.is_empty()).then_some(body);
    Response::new_with_opt_str_and_init(body, &init)
}

/// A JSON answer.
///
/// # Errors
/// As [`own`].
pub fn json(status: u16, value: &serde_json::Value) -> Result<Response, JsValue> {
    own(
        status,
        "application/json; charset=utf-8",
        &value.to_string(),
        &[],
    )
}

/// A JSON error: `{"error": code, "message": message}`.
///
/// # Errors
/// As [`own`].
pub fn json_error(status: u16, code: &str, message: &str) -> Result<Response, JsValue> {
    json(
        status,
        &serde_json::json!({ "error": code, "message": message }),
    )
}

/// An HTML page.
///
/// # Errors
/// As [`own`].
pub fn html(status: u16, page: &str) -> Result<Response, JsValue> {
    own(status, "text/html; charset=utf-8", page, &[])
}

/// A `403` for a state-changing request from another site (`Sec-Fetch-Site`, `Origin`), or
/// `None` when it comes from this one.
///
/// # Errors
/// As [`own`].
pub fn refuse_cross_site(
    headers: &web_sys::Headers,
    host: &str,
    message: &str,
) -> Result<Option<crate::Served>, JsValue> {
    let header = |name: &str| headers.get(name).ok().flatten();
    if consent_core::decision_request::is_cross_site(
        header("sec-fetch-site").as_deref(),
        header("origin").as_deref(),
        host,
    ) {
        return Ok(Some(crate::Served::ok(json_error(
            403,
            "cross_site",
            message,
        )?)));
    }
    Ok(None)
}

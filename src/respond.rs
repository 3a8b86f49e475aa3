//! The worker's own successful answers: JSON, pages and redirects with safe headers.
//! Failures are answered by [`crate::failure::answer`] alone.

use wasm_bindgen::JsValue;
use web_sys::{Headers, Response, ResponseInit};

/// `200 OK`.
pub const OK: u16 = 200;
/// `303 See Other`: after a form post, the browser goes back with a `GET`.
pub const SEE_OTHER: u16 = 303;

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

/// A `200` JSON answer, with `extra` headers.
///
/// # Errors
/// As [`own`].
pub fn json(body: &str, extra: &[(&str, &str)]) -> Result<Response, JsValue> {
    own(OK, "application/json; charset=utf-8", body, extra)
}

/// A `200` HTML page.
///
/// # Errors
/// As [`own`].
pub fn html(page: &str) -> Result<Response, JsValue> {
    own(OK, "text/html; charset=utf-8", page, &[])
}

/// A `303` to `location` (a same-site path).
///
/// # Errors
/// As [`own`].
pub fn see_other(location: &str) -> Result<Response, JsValue> {
    own(
        SEE_OTHER,
        "text/plain; charset=utf-8",
        "",
        &[("location", location)],
    )
}

/// Appends every `Set-Cookie` value to `response`.
///
/// # Errors
/// As [`own`].
pub fn with_cookies(response: Response, cookies: &[String]) -> Result<Response, JsValue> {
    let headers = response.headers();
    for cookie in cookies {
        headers.append("set-cookie", cookie)?;
    }
    Ok(response)
}

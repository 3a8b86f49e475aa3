//! What the worker reads from the platform: the clock, randomness, a request's body, and the
//! runtime's own URL parser.

use consent_core::consent::request::MAX_BODY_BYTES;
use consent_core::failure::Failure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Request;

/// Milliseconds since the epoch, from the runtime's clock.
pub fn now_ms() -> u64 {
    // Date.now(), not `new Date()`: no object per call. A whole, positive number of ms.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let now = js_sys::Date::now() as u64;
    now
}

/// The runtime's WHATWG URL parser (the one its `fetch` uses), for the rare host the gate
/// cannot read as plain ASCII: the browser's mapping of a host to ASCII (IDNA), at no cost in
/// wasm size.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeUrl;

impl consent_core::gate::decode::ToAscii for RuntimeUrl {
    fn to_ascii(&self, host: &str) -> Option<String> {
        web_sys::Url::new(&format!("http://{host}/"))
            .ok()
            .map(|url| url.hostname())
    }
}

/// `N` bytes from the platform's CSPRNG.
///
/// # Errors
/// [`Failure::Internal`] if the platform has none to give.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], Failure> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| Failure::Internal(format!("getrandom: {e}")))?;
    Ok(bytes)
}

/// Reads the body, stopping as soon as it passes [`MAX_BODY_BYTES`] (a chunked body has no
/// `Content-Length` to refuse it by), so an oversized body is never held in memory. The
/// caller refuses a body longer than the limit.
///
/// # Errors
/// When the runtime fails to read the stream.
pub async fn read_body(request: &Request) -> Result<Vec<u8>, JsValue> {
    let Some(stream) = request.body() else {
        return Ok(Vec::new());
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await?;
        if js_sys::Reflect::get(&chunk, &JsValue::from_str("done"))?.is_truthy() {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &JsValue::from_str("value"))?;
        body.extend(js_sys::Uint8Array::new(&value).to_vec());
        if body.len() > MAX_BODY_BYTES {
            // Stop reading; the rest is never pulled from the client.
            let _ = reader.cancel();
            break;
        }
    }
    Ok(body)
}

//! Getting the page from the origin: a URL, the route's own origin, or the bundled demo site.

use crate::error::describe;
use consent_core::config::Origin;
use futures_util::future::{select, Either};
use js_sys::Promise;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, Response};
use worker::{Delay, Env};

/// How long the origin may take to send its response head; the body then streams at its
/// own pace. Past this the visitor gets a clear 504 page rather than a spinning tab.
pub const ORIGIN_HEAD_TIMEOUT: Duration = Duration::from_secs(20);

/// The `ASSETS` binding's name (`wrangler.toml`).
pub const ASSETS_BINDING: &str = "ASSETS";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(request: &Request) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_name = fetch, catch)]
    fn fetch_with_init(url: &str, init: &Request) -> Result<Promise, JsValue>;
}

/// Why the origin gave no response.
#[derive(Debug)]
pub enum OriginError {
    /// It did not answer within [`ORIGIN_HEAD_TIMEOUT`].
    Timeout,
    /// The connection failed, or the runtime refused the request; the detail is for the log.
    Unreachable(String),
    /// The configuration names no usable origin (the `ASSETS` binding is missing).
    Misconfigured(&'static str),
}

/// Sends `request` to the configured origin and waits for the response head.
///
/// # Errors
/// See [`OriginError`].
pub async fn fetch_from_origin(
    env: &Env,
    origin: &Origin,
    request: &Request,
    path_and_query: &str,
) -> Result<Response, OriginError> {
    let promise = match origin {
        Origin::Demo => {
            let assets = env
                .assets(ASSETS_BINDING)
                .map_err(|_| OriginError::Misconfigured("the ASSETS binding is missing"))?
                .into_rpc::<worker_sys::Fetcher>();
            assets.fetch(request)
        }
        Origin::Route => global_fetch(request),
        // The request itself is the init: method, headers, body and its `manual` redirect
        // mode carry over without copying them through wasm.
        Origin::Url(base) => fetch_with_init(&format!("{base}{path_and_query}"), request),
    }
    .map_err(|e| OriginError::Unreachable(describe(&e)))?;

    let response = JsFuture::from(promise);
    let timeout = Delay::from(ORIGIN_HEAD_TIMEOUT);
    match select(response, timeout).await {
        Either::Left((Ok(value), _)) => value.dyn_into::<Response>().map_err(|_| {
            OriginError::Unreachable("fetch resolved to something that is not a Response".into())
        }),
        Either::Left((Err(e), _)) => Err(OriginError::Unreachable(describe(&e))),
        Either::Right(((), _)) => Err(OriginError::Timeout),
    }
}

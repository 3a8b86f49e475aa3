//! `POST /_consent` and `GET /_consent/state`: recording a decision and reporting it.

use crate::banner_cache::banner;
use crate::consent_store::{store_record, KV_BINDING};
use crate::respond::refuse_cross_site;
use crate::{respond, Served, Visit};
use consent_core::banner::BannerVariant;
use consent_core::clock::rfc3339;
use consent_core::config::Config;
use consent_core::consent::{ConsentId, ConsentState, Decision};
use consent_core::consent_cookie::{cookie_names, set_cookie};
use consent_core::cookie_inventory::expire_disallowed;
use consent_core::decision_request::{
    body_kind, parse_decision, BadDecision, DecisionRequest, MAX_BODY_BYTES,
};
use consent_core::inject::escape_html;
use consent_core::pages::page;
use consent_core::record::{ProofRecord, RecordContext};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, Response};
use worker::Env;

/// The worker's version, sealed into each record beside the banner's hash.
const WORKER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET /_consent/state`.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub fn state(visit: &Visit) -> Result<Response, JsValue> {
    respond::json(200, &state_json(&visit.consent))
}

fn state_json(state: &ConsentState) -> serde_json::Value {
    match state {
        ConsentState::Undecided => serde_json::json!({ "decided": false }),
        ConsentState::Decided(d) => serde_json::json!({
            "decided": true,
            "id": d.id,
            "analytics": d.choices.analytics,
            "marketing": d.choices.marketing,
            "policy_version": d.policy_version,
            "given_at": rfc3339(d.given_at),
            "expires_at": rfc3339(d.expires_at),
        }),
    }
}

/// `POST /_consent`.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub async fn record(
    request: &Request,
    env: &Env,
    config: &Config,
    visit: &Visit,
) -> Result<Served, JsValue> {
    let headers = request.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let host = visit.host.as_str();
    if let Some(refused) =
        refuse_cross_site(&headers, host, "Consent can only be given from this site.")?
    {
        return Ok(refused);
    }
    let declared_length = header("content-length").and_then(|l| l.trim().parse::<usize>().ok());
    if declared_length.is_some_and(|l| l > MAX_BODY_BYTES) {
        return too_large();
    }
    let kind = match body_kind(header("content-type").as_deref()) {
        Ok(kind) => kind,
        Err(e) => return bad_request(&e),
    };
    let body = read_body(request).await?;
    let wanted = match parse_decision(kind, &body, visit.gpc) {
        Ok(wanted) => wanted,
        Err(BadDecision::TooLarge) => return too_large(),
        Err(e) => return bad_request(&e),
    };
    let (Some(signing_key), Some(record_key)) = (&config.signing_key, &config.record_key) else {
        return respond::json_error(
            503,
            "not_configured",
            "Consent cannot be recorded: the site's consent keys are not configured.",
        )
        .map(|r| Served::failed(r, "consent keys missing"));
    };

    let mut random = [0u8; 16 + 12];
    if getrandom::getrandom(&mut random).is_err() {
        return respond::json_error(503, "unavailable", "Please try again.")
            .map(|r| Served::failed(r, "getrandom failed"));
    }
    let (id_bytes, nonce_bytes) = random.split_at(16);
    let id = match &visit.consent {
        // A change of mind continues the visitor's chain of records.
        ConsentState::Decided(previous) => previous.id,
        ConsentState::Undecided => ConsentId::from_random(id_bytes.try_into().unwrap_or([0; 16])),
    };
    let nonce: [u8; 12] = nonce_bytes.try_into().unwrap_or([0; 12]);
    let decision = Decision::new(
        id,
        wanted.choices,
        &config.policy_version,
        visit.now,
        config.consent_max_age_days,
    );
    let banner = banner(BannerVariant {
        lang: visit.lang,
        gpc: visit.gpc,
    });
    let path = wanted
        .return_to
        .clone()
        .unwrap_or_else(|| visit.path.clone());
    let proof = ProofRecord::new(
        id,
        wanted.choices,
        wanted.method,
        &config.policy_version,
        wanted.gpc_refused_marketing,
        visit.now,
        &RecordContext {
            banner_sha256: &banner.sha256,
            worker_version: WORKER_VERSION,
            lang: visit.lang,
            country: visit.country.as_deref(),
            path: &path,
            sec_gpc: header("sec-gpc").as_deref(),
            client_ip: header("cf-connecting-ip").as_deref(),
            user_agent: header("user-agent").as_deref(),
            retention_days: config.record_retention_days,
        },
    );

    let stored = match env.kv(KV_BINDING) {
        Ok(kv) => store_record(&kv, &proof, record_key.expose(), nonce)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("KV binding {KV_BINDING} unavailable: {e}")),
    };
    let failure = stored.err().map(|e| format!("consent {id}: {e}"));
    if let Some(failure) = &failure {
        if wanted.choices.any() {
            // No proof, no consent: nothing is switched on and no cookie is set.
            return save_failed(visit, &wanted, failure);
        }
        // A refusal must never fail: the cookie is set even though the record is missing.
    }

    let cookie = set_cookie(&decision, signing_key.expose(), config.consent_max_age_days);
    let response = if is_form(&wanted) {
        redirect_back(&wanted, &cookie)?
    } else {
        let body = state_json(&ConsentState::Decided(decision.clone())).to_string();
        respond::own(
            200,
            "application/json; charset=utf-8",
            &body,
            &[("set-cookie", &cookie)],
        )?
    };
    // Rule 9: on refusal or withdrawal, the analytics cookies the browser holds are expired,
    // for every domain variant GA writes.
    let present = visit
        .cookie
        .as_deref()
        .map(cookie_names)
        .unwrap_or_default();
    for expired in expire_disallowed(&present, wanted.choices, host) {
        response.headers().append("set-cookie", &expired)?;
    }
    let label = ConsentState::Decided(decision).log_label();
    Ok(match failure {
        None => Served {
            consent_after: Some(label),
            ..Served::ok(response)
        },
        Some(failure) => Served {
            consent_after: Some(label),
            ..Served::failed(response, failure)
        },
    })
}

fn is_form(wanted: &DecisionRequest) -> bool {
    wanted.method != consent_core::consent::Method::Api
}

/// `303` back to the page the form was on, never elsewhere.
fn redirect_back(wanted: &DecisionRequest, cookie: &str) -> Result<Response, JsValue> {
    let location = wanted.return_to.as_deref().unwrap_or("/");
    respond::own(
        303,
        "text/plain; charset=utf-8",
        "",
        &[("location", location), ("set-cookie", cookie)],
    )
}

fn save_failed(visit: &Visit, wanted: &DecisionRequest, failure: &str) -> Result<Served, JsValue> {
    let response = if is_form(wanted) {
        let t = visit.lang.texts();
        let back = wanted.return_to.as_deref().unwrap_or("/");
        let body = format!(
            "<h1>{}</h1><div class=\"card\" role=\"alert\"><p>{}</p><p><a class=\"button\" href=\"{}\">{}</a></p></div>",
            escape_html(t.save_failed_title),
            escape_html(t.save_failed_text),
            escape_html(back),
            escape_html(t.back_to_page)
        );
        respond::own(
            503,
            "text/html; charset=utf-8",
            &page(visit.lang, t.save_failed_title, &body),
            &[("retry-after", "5")],
        )?
    } else {
        respond::json_error(
            503,
            "not_recorded",
            "Your consent could not be recorded, so nothing was switched on. Please try again.",
        )?
    };
    Ok(Served::failed(response, failure))
}

fn too_large() -> Result<Served, JsValue> {
    respond::json_error(413, "too_large", "The request body is larger than 4 KiB.").map(Served::ok)
}

fn bad_request(e: &BadDecision) -> Result<Served, JsValue> {
    let code = match e {
        BadDecision::UnsupportedMediaType => "unsupported_media_type",
        _ => "bad_request",
    };
    respond::json_error(400, code, &e.to_string()).map(Served::ok)
}

/// Reads the body, stopping as soon as it passes [`MAX_BODY_BYTES`] (a chunked body has no
/// `Content-Length` to refuse it by), so an oversized body is never held in memory.
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

//! The visitor's rights over their own consent (GDPR arts. 7(3), 15, 17, 20): the
//! preferences page, the download of their records, their erasure, and the cookie policy.
//! Records are found by the consent id in the visitor's signed cookie and nothing else.

use crate::consent_store::KV_BINDING;
use crate::decision::read_body;
use crate::respond::refuse_cross_site;
use crate::{respond, Served, Visit};
use consent_core::config::Config;
use consent_core::consent::{Choices, ConsentId};
use consent_core::consent_cookie::{
    authenticate, clear_cookie, cookie_names, cookie_value, COOKIE_NAME,
};
use consent_core::cookie_inventory::expire_disallowed;
use consent_core::decision_request::MAX_BODY_BYTES;
use consent_core::pages::{cookie_policy_page, preferences_page, Notice};
use consent_core::record::{day_index_of, erasure_entry, open, records_prefix};
use wasm_bindgen::JsValue;
use web_sys::Request;
use worker::kv::KvStore;
use worker::Env;

/// Most list pages read for one visitor: 1,000 keys each, far beyond any real history,
/// and well inside KV's 1,000 operations per invocation once the reads are added.
const MAX_LIST_PAGES: usize = 5;

/// `GET /_consent/preferences`.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub fn preferences(visit: &Visit) -> Result<Served, JsValue> {
    let notice = match visit.search.as_str() {
        "?saved" => Notice::Saved,
        "?erased" => Notice::Erased,
        _ => Notice::None,
    };
    respond::html(
        200,
        &preferences_page(visit.lang, &visit.consent, visit.gpc, notice),
    )
    .map(Served::ok)
}

/// `GET /_consent/cookies`.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub fn cookie_policy(visit: &Visit) -> Result<Served, JsValue> {
    respond::html(200, &cookie_policy_page(visit.lang)).map(Served::ok)
}

/// The consent id the request's cookie proves, or the answer to give when it proves none.
fn owner(visit: &Visit, config: &Config) -> Result<Result<ConsentId, Served>, JsValue> {
    let Some(key) = &config.signing_key else {
        let r = respond::json_error(
            503,
            "not_configured",
            "Consent records are not available: the site's keys are not configured.",
        )?;
        return Ok(Err(Served::failed(r, "signing key missing")));
    };
    match visit
        .cookie
        .as_deref()
        .and_then(|h| cookie_value(h, COOKIE_NAME))
        .map(|v| authenticate(&v, key.expose()))
    {
        Some(Ok(id)) => Ok(Ok(id)),
        _ => {
            let r = respond::json_error(401, "no_consent_cookie", "Your records are found through your consent cookie, and this browser has no valid one.")?;
            Ok(Err(Served::ok(r)))
        }
    }
}

/// The KV namespace and every record key of `id`; the error says what failed, for the log.
async fn records_of(env: &Env, id: ConsentId) -> Result<(KvStore, Vec<String>), String> {
    let kv = env
        .kv(KV_BINDING)
        .map_err(|e| format!("KV binding unavailable: {e}"))?;
    let keys = record_keys_of(&kv, id)
        .await
        .map_err(|e| format!("listing records of consent {id}: {e}"))?;
    Ok((kv, keys))
}

/// Every record key of `id`.
async fn record_keys_of(kv: &KvStore, id: ConsentId) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_LIST_PAGES {
        let mut list = kv.list().prefix(records_prefix(id));
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list.execute().await.map_err(|e| e.to_string())?;
        keys.extend(page.keys.into_iter().map(|k| k.name));
        if page.list_complete {
            return Ok(keys);
        }
        cursor = page.cursor;
    }
    Err(format!("more than {MAX_LIST_PAGES} pages of records"))
}

/// `GET /_consent/records`: the visitor's own records, decrypted, as a JSON download.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub async fn download(env: &Env, config: &Config, visit: &Visit) -> Result<Served, JsValue> {
    let id = match owner(visit, config)? {
        Ok(id) => id,
        Err(answer) => return Ok(answer),
    };
    let Some(record_key) = &config.record_key else {
        return respond::json_error(503, "not_configured", "Consent records are not available.")
            .map(|r| Served::failed(r, "record key missing"));
    };
    let (kv, keys) = match records_of(env, id).await {
        Ok(found) => found,
        Err(e) => return unavailable(&e),
    };
    let mut records = Vec::with_capacity(keys.len());
    for key in &keys {
        match kv.get(key).text().await {
            Ok(Some(stored)) => match open(&stored, record_key.expose(), key) {
                Ok(record) => {
                    records.push(serde_json::to_value(record).unwrap_or(serde_json::Value::Null))
                }
                Err(e) => records.push(serde_json::json!({ "key": key, "error": e.to_string() })),
            },
            // Expired between list and get: it no longer exists.
            Ok(None) => {}
            Err(e) => return unavailable(&format!("reading record {key}: {e}")),
        }
    }
    let body = serde_json::json!({ "consent_id": id, "records": records });
    let disposition = format!("attachment; filename=\"sivo-consent-{id}.json\"");
    respond::own(
        200,
        "application/json; charset=utf-8",
        &body.to_string(),
        &[("content-disposition", &disposition)],
    )
    .map(Served::ok)
}

/// `DELETE /_consent/records`, or `POST` with the form field `action=erase`: deletes every
/// record of the visitor's consent id and its day index entries, keeps an erasure entry with
/// no personal data, and expires the consent and analytics cookies.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub async fn erase(
    request: &Request,
    env: &Env,
    config: &Config,
    visit: &Visit,
) -> Result<Served, JsValue> {
    let headers = request.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let host = visit.host.as_str();
    if let Some(refused) =
        refuse_cross_site(&headers, host, "Records can only be erased from this site.")?
    {
        return Ok(refused);
    }
    let is_form = request.method() == "POST";
    if is_form {
        if header("content-length")
            .and_then(|l| l.trim().parse::<usize>().ok())
            .is_some_and(|l| l > MAX_BODY_BYTES)
        {
            return respond::json_error(413, "too_large", "The request body is larger than 4 KiB.")
                .map(Served::ok);
        }
        let body = read_body(request).await?;
        if body.len() > MAX_BODY_BYTES {
            return respond::json_error(413, "too_large", "The request body is larger than 4 KiB.")
                .map(Served::ok);
        }
        if body != b"action=erase" {
            return respond::json_error(400, "bad_request", "Send action=erase.").map(Served::ok);
        }
    }
    let id = match owner(visit, config)? {
        Ok(id) => id,
        Err(answer) => return Ok(answer),
    };
    let (kv, keys) = match records_of(env, id).await {
        Ok(found) => found,
        Err(e) => return unavailable(&e),
    };
    for key in &keys {
        // The day index entry first: if the record's deletion then fails, a retry still
        // finds the record and finishes the job.
        let index = day_index_of(key).unwrap_or_default();
        let deleted = match kv.delete(&index).await {
            Ok(()) => kv.delete(key).await,
            Err(e) => Err(e),
        };
        if let Err(e) = deleted {
            return unavailable(&format!("erasing consent {id}: {e}; retry to finish"));
        }
    }
    let (entry_key, entry) = erasure_entry(id, visit.now);
    let retention_secs = u64::from(config.record_retention_days) * 86_400;
    let kept = match kv.put(&entry_key, entry) {
        Ok(put) => put
            .expiration_ttl(retention_secs)
            .execute()
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let count = keys.len();
    let response = if is_form {
        respond::own(
            303,
            "text/plain; charset=utf-8",
            "",
            &[("location", "/_consent/preferences?erased")],
        )?
    } else {
        respond::json(200, &serde_json::json!({ "erased": count }))?
    };
    response.headers().append("set-cookie", &clear_cookie())?;
    let present = visit
        .cookie
        .as_deref()
        .map(cookie_names)
        .unwrap_or_default();
    for expired in expire_disallowed(&present, Choices::NONE, host) {
        response.headers().append("set-cookie", &expired)?;
    }
    Ok(match kept {
        Ok(()) => Served {
            consent_after: Some("undecided"),
            ..Served::ok(response)
        },
        Err(e) => Served {
            consent_after: Some("undecided"),
            ..Served::failed(
                response,
                format!("consent {id} erased, but the erasure entry was not kept: {e}"),
            )
        },
    })
}

fn unavailable(detail: &str) -> Result<Served, JsValue> {
    respond::json_error(
        503,
        "unavailable",
        "Your records cannot be reached right now. Please try again in a moment.",
    )
    .map(|r| Served::failed(r, detail))
}

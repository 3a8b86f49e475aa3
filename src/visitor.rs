//! The visitor's rights over their own consent (GDPR arts. 7(3), 15, 17, 20): the
//! preferences page, the download of their records, their erasure, and the cookie policy.
//! The use cases are the domain's (`consent_core::visitor::rights`).

use crate::failure::WorkerError;
use crate::platform::read_body;
use crate::proof::KvRecords;
use crate::respond::{html, json, see_other, with_cookies};
use crate::served::Served;
use crate::visit::{Header, Visit};
use consent_core::config::Config;
use consent_core::consent::request::check_declared_length;
use consent_core::consent::ConsentState;
use consent_core::paths;
use consent_core::visitor::pages::{cookie_policy_page, preferences_page, Notice};
use consent_core::visitor::rights::{
    check_erase_form, download as records_of, erase as erase_records,
};
use web_sys::Request;
use worker::Env;

/// `GET /_consent/preferences`.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub fn preferences(visit: &Visit) -> Result<Served, WorkerError> {
    let notice = match visit.search.as_str() {
        "?saved" => Notice::Saved,
        "?erased" => Notice::Erased,
        _ => Notice::None,
    };
    // A signed cookie whose decision lapsed still names the visitor's id: their receipt.
    let lapsed = visit
        .signed
        .as_ref()
        .filter(|_| visit.consent == ConsentState::Undecided);
    let page = preferences_page(visit.lang, &visit.consent, lapsed, visit.gpc, notice);
    Ok(Served::ok(html(&page)?))
}

/// `GET /_consent/cookies`.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub fn cookie_policy(config: &Config, visit: &Visit) -> Result<Served, WorkerError> {
    Ok(Served::ok(html(&cookie_policy_page(
        visit.lang,
        config.record_retention_days,
    ))?))
}

/// `GET /_consent/records`: the visitor's own records, decrypted, as a JSON download.
///
/// # Errors
/// No valid consent cookie; missing keys; KV failing.
pub async fn download(env: &Env, config: &Config, visit: &Visit) -> Result<Served, WorkerError> {
    let download = records_of(&KvRecords::bind(env), config, visit.cookie.as_deref()).await?;
    let disposition = format!("attachment; filename=\"{}\"", download.filename);
    Ok(Served::ok(json(
        &download.body,
        &[("content-disposition", &disposition)],
    )?))
}

/// `DELETE /_consent/records`, or `POST` with the form field `action=erase`: erases every
/// record of the visitor's consent id and expires the consent and analytics cookies.
///
/// # Errors
/// Cross-site, oversized or malformed requests; no valid consent cookie; KV failing
/// part-way (nothing then claims success).
pub async fn erase(
    request: &Request,
    env: &Env,
    config: &Config,
    visit: &Visit,
) -> Result<Served, WorkerError> {
    visit.ensure_same_site()?;
    let is_form = visit.method == "POST";
    if is_form {
        check_declared_length(visit.header(Header::ContentLength).as_deref())?;
        check_erase_form(&read_body(request).await?)?;
    }
    let erased = erase_records(
        &KvRecords::bind(env),
        config,
        visit.cookie.as_deref(),
        &visit.host,
        visit.now,
    )
    .await?;
    let response = if is_form {
        see_other(paths::PREFERENCES_ERASED)?
    } else {
        json(
            &serde_json::json!({ "erased": erased.records }).to_string(),
            &[],
        )?
    };
    Ok(Served::ok(with_cookies(response, &erased.set_cookies)?)
        .leaving("undecided")
        .with_failure(erased.note_error))
}

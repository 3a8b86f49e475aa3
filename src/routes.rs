//! The routes under `/_consent` (CONTRACT.md, "Routes owned by the worker").

use crate::{respond, Served, Visit};
use consent_core::config::{Config, Origin, Severity};
use wasm_bindgen::JsValue;
use web_sys::Request;
use worker::Env;

/// Answers a request under `/_consent`.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub async fn handle(
    request: &Request,
    env: &Env,
    config: &Config,
    visit: &Visit,
) -> Result<Served, JsValue> {
    let method = request.method();
    match visit.path.as_str() {
        "/_consent" | "/_consent/" => match method.as_str() {
            "POST" => crate::decision::record(request, env, config, visit).await,
            _ => method_not_allowed("POST"),
        },
        "/_consent/state" => match method.as_str() {
            "GET" | "HEAD" => crate::decision::state(visit).map(Served::ok),
            _ => method_not_allowed("GET, HEAD"),
        },
        "/_consent/preferences" => match method.as_str() {
            "GET" | "HEAD" => crate::rights::preferences(visit),
            _ => method_not_allowed("GET, HEAD"),
        },
        "/_consent/cookies" => match method.as_str() {
            "GET" | "HEAD" => crate::rights::cookie_policy(visit),
            _ => method_not_allowed("GET, HEAD"),
        },
        "/_consent/records" => match method.as_str() {
            "GET" | "HEAD" => crate::rights::download(env, config, visit).await,
            "DELETE" | "POST" => crate::rights::erase(request, env, config, visit).await,
            _ => method_not_allowed("GET, HEAD, DELETE, POST"),
        },
        "/_consent/health" => match method.as_str() {
            "GET" | "HEAD" => health(config).map(Served::ok),
            _ => method_not_allowed("GET, HEAD"),
        },
        _ => respond::json_error(404, "not_found", "No such consent route.").map(Served::ok),
    }
}

fn method_not_allowed(allow: &str) -> Result<Served, JsValue> {
    let body =
        serde_json::json!({ "error": "method_not_allowed", "message": format!("Use {allow}.") });
    respond::own(
        405,
        "application/json; charset=utf-8",
        &body.to_string(),
        &[("allow", allow)],
    )
    .map(Served::ok)
}

/// `GET /_consent/health`: what is configured and what is wrong, never a secret.
fn health(config: &Config) -> Result<web_sys::Response, JsValue> {
    let origin = match &config.origin {
        Origin::Demo => "demo",
        Origin::Route => "route",
        Origin::Url(_) => "url",
    };
    let has_errors = config
        .problems
        .iter()
        .any(|p| p.severity == Severity::Error);
    let body = serde_json::json!({
        "status": if has_errors { "degraded" } else { "ok" },
        "origin": origin,
        "development": config.origin.is_development(),
        "ga4": config.ga4_measurement_id.is_some(),
        "gtm": config.gtm_container_id.is_some(),
        "policy_version": config.policy_version,
        "consent_max_age_days": config.consent_max_age_days,
        "record_retention_days": config.record_retention_days,
        "consent_recording": config.signing_key.is_some() && config.record_key.is_some(),
        "problems": config.problems,
    });
    respond::json(200, &body)
}

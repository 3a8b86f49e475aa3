//! Who is asking for the dashboard: the Cloudflare Access token in
//! `Cf-Access-Jwt-Assertion`, checked by the domain
//! (`consent_core::dashboard::access::authenticate`) against the team's keys (fetched and
//! kept per isolate for at most an hour, refetched once on an unknown `kid`, a refresh or a
//! failed fetch tried at most once a minute: `KeyCache`) with the runtime's `WebCrypto`. No
//! cookie or other header is trusted instead.

use crate::failure::describe;
use crate::isolate;
use crate::visit::{Header, Visit};
use consent_core::config::Config;
use consent_core::dashboard::access::{
    authenticate, development_identity, parse_rules, AccessConfig, AccessError, Identity, Jwk,
    Jwks, KeyPlan, KeySource, SignatureVerifier,
};
use consent_core::failure::Failure;
use consent_core::ip::is_loopback_host;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;
use worker::Env;

/// Why someone is not let in.
#[derive(Debug)]
pub enum Refusal {
    /// The dashboard is closed: Access is not configured (and the origin is not the demo).
    Closed,
    /// The demo origin without Access, reached on a host that is not loopback: the
    /// development identity is for this machine only.
    NotLoopback,
    /// A role list is malformed.
    Misconfigured(String),
    /// The token was missing or refused.
    Token(AccessError),
}

impl Refusal {
    /// The reason, for the log and the audit log (never the token).
    #[must_use]
    pub fn reason(&self) -> String {
        match self {
            Refusal::Closed => "Cloudflare Access is not configured".to_owned(),
            Refusal::NotLoopback => {
                "Cloudflare Access is not configured, and the development identity is only \
                 given on a loopback host"
                    .to_owned()
            }
            Refusal::Misconfigured(why) => why.clone(),
            Refusal::Token(e) => e.to_string(),
        }
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Closed | Refusal::NotLoopback => Failure::DashboardClosed,
            Refusal::Misconfigured(why) | Refusal::Token(AccessError::KeysUnavailable(why)) => {
                Failure::Unavailable(why)
            }
            Refusal::Token(AccessError::NoToken) => Failure::SignInRequired,
            Refusal::Token(e) => Failure::Forbidden(e.to_string()),
        }
    }
}

/// The identity of the request. With the demo origin, Access not configured and a loopback
/// host (`localhost`, `127.0.0.1`, `[::1]`), the development identity (every dashboard page
/// says so); otherwise never open by default.
///
/// # Errors
/// See [`Refusal`].
pub async fn identify(_env: &Env, config: &Config, visit: &Visit) -> Result<Identity, Refusal> {
    let settings = &config.dashboard;
    let (Some(team_domain), Some(audience)) = (&settings.team_domain, &settings.audience) else {
        return match (
            config.origin.is_development(),
            is_loopback_host(&visit.host),
        ) {
            (true, true) => Ok(development_identity()),
            (true, false) => Err(Refusal::NotLoopback),
            (false, _) => Err(Refusal::Closed),
        };
    };
    let rules = |name: &str, raw: &str| {
        parse_rules(raw).map_err(|e| Refusal::Misconfigured(format!("{name}: {e}")))
    };
    let access = AccessConfig {
        team_domain: team_domain.clone(),
        audience: audience.clone(),
        viewers: rules("DASHBOARD_VIEWERS", &settings.viewers)?,
        admins: rules("DASHBOARD_ADMINS", &settings.admins)?,
    };
    let keys = TeamKeys {
        certs_url: access.certs_url(),
        now: visit.now,
    };
    authenticate(
        visit.header(Header::AccessToken).as_deref(),
        &access,
        &keys,
        &WebCrypto,
        visit.now / 1000,
    )
    .await
    .map_err(Refusal::Token)
}

/// The team's keys from `<team>/cdn-cgi/access/certs`, cached per isolate.
struct TeamKeys {
    certs_url: String,
    now: u64,
}

impl KeySource for TeamKeys {
    async fn keys(&self, refresh: bool) -> Result<Jwks, AccessError> {
        match isolate::with(|i| i.access_keys.borrow().plan(self.now, refresh)) {
            KeyPlan::Use(keys) => Ok(keys),
            KeyPlan::Wait(seconds) => Err(AccessError::KeysUnavailable(format!(
                "the team's keys could not be fetched; tried again in {seconds} s"
            ))),
            KeyPlan::Fetch => {
                let fetched = fetch_keys(&self.certs_url).await;
                isolate::with(|i| {
                    i.access_keys
                        .borrow_mut()
                        .fetched(self.now, refresh, fetched.as_ref().ok());
                });
                fetched
            }
        }
    }
}

#[wasm_bindgen]
extern "C" {
    /// The runtime's `fetch` (a plain GET), without parsing the URL in wasm first.
    #[wasm_bindgen(js_name = fetch, catch)]
    fn fetch_url(url: &str) -> Result<Promise, JsValue>;
}

async fn fetch_keys(url: &str) -> Result<Jwks, AccessError> {
    let unavailable = AccessError::KeysUnavailable;
    let fetched = async {
        let response: Response = JsFuture::from(fetch_url(url)?).await?.dyn_into()?;
        Ok::<_, JsValue>(response)
    };
    let response = fetched
        .await
        .map_err(|e| unavailable(format!("fetching the team's keys: {}", describe(&e))))?;
    if response.status() != 200 {
        return Err(unavailable(format!(
            "the team's keys answered {}",
            response.status()
        )));
    }
    let body = async {
        JsFuture::from(response.text()?)
            .await?
            .as_string()
            .ok_or(JsValue::NULL)
    }
    .await
    .map_err(|e| unavailable(format!("reading the team's keys: {}", describe(&e))))?;
    Jwks::from_json(&body).map_err(|e| unavailable(e.to_string()))
}

/// RS256 with the runtime's `WebCrypto` (`RSASSA-PKCS1-v1_5` with SHA-256).
struct WebCrypto;

impl SignatureVerifier for WebCrypto {
    async fn verify_rs256(&self, jwk: &Jwk, signing_input: &[u8], signature: &[u8]) -> bool {
        verify(jwk, signing_input, signature).await.unwrap_or(false)
    }
}

async fn verify(jwk: &Jwk, signing_input: &[u8], signature: &[u8]) -> Result<bool, JsValue> {
    let subtle = Reflect::get(
        &Reflect::get(&js_sys::global(), &"crypto".into())?,
        &"subtle".into(),
    )?;
    let call = |name: &str, args: &Array| -> Result<JsFuture, JsValue> {
        let method: js_sys::Function = Reflect::get(&subtle, &name.into())?.dyn_into()?;
        let promise: Promise = method.apply(&subtle, args)?.dyn_into()?;
        Ok(JsFuture::from(promise))
    };
    let key_json = serde_json::to_string(jwk).map_err(|e| JsValue::from_str(&e.to_string()))?;
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"RSASSA-PKCS1-v1_5".into())?;
    Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into())?;
    let key = call(
        "importKey",
        &Array::of5(
            &"jwk".into(),
            &js_sys::JSON::parse(&key_json)?,
            &algorithm,
            &JsValue::FALSE,
            &Array::of1(&"verify".into()),
        ),
    )?
    .await?;
    let verified = call(
        "verify",
        &Array::of4(
            &algorithm,
            &key,
            &Uint8Array::from(signature),
            &Uint8Array::from(signing_input),
        ),
    )?
    .await
    .map_err(|e| JsValue::from_str(&describe(&e)))?;
    Ok(verified.as_bool().unwrap_or(false))
}

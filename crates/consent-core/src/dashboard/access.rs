//! Cloudflare Access in front of the marketing dashboard (README, "For marketing: the consent
//! dashboard", its part "Who gets in"): every request under `/_consent/admin` carries an
//! Access application token in `Cf-Access-Jwt-Assertion`, and [`authenticate`] turns it
//! into an [`Identity`] or says exactly why not.
//!
//! The worker supplies only I/O, through two ports: a [`KeySource`] (the team's
//! `/cdn-cgi/access/certs`, cached per isolate) and a [`SignatureVerifier`] (`WebCrypto`'s
//! RSASSA-PKCS1-v1_5 with SHA-256). Everything else is decided here:
//!
//! - The algorithm is fixed: RS256. The token's `alg` must say so, and is never used to pick
//!   a verifier: `none`, `HS256` (the "public key as HMAC secret" attack) and every other
//!   value are refused before any key is fetched or any signature checked. Keys come only
//!   from the key source, chosen by the token's `kid`; header parameters that carry or point
//!   to keys (`jwk`, `jku`, `x5u`, `x5c`) are ignored, and `crit` is refused.
//! - An unknown `kid` makes the key source refetch once (Access rotates its keys); a `kid`
//!   still unknown after that is refused.
//! - Only a verified token's claims are read: `iss` must equal the configured team domain
//!   (a trailing slash on the *configured* domain is ignored; the token's `iss` is compared
//!   as is), `aud` (a string or an array) must contain the configured audience tag, and the
//!   token must be within `nbf`/`exp`, with [`LEEWAY_SECS`] of clock skew tolerated either
//!   way: accepted while `now < exp + 60` and once `nbf <= now + 60`. `exp` is required;
//!   `exp` and `nbf` must be whole seconds (Access issues integers).
//! - The identity is the `email` claim, lower-cased; its role comes from `DASHBOARD_ADMINS`,
//!   else `DASHBOARD_VIEWERS`: comma-separated e-mail addresses or `@domain` entries,
//!   case-insensitive. A token without an e-mail address (an Access service token) or with
//!   one in neither list is refused.
//!
//! Error texts are fixed words, safe for the log: never the token, a claim or an address.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Clock skew tolerated on `exp` and `nbf`, in seconds: a token is accepted until 60 s after
/// its `exp` and from 60 s before its `nbf`. Access tokens live for the application's
/// session duration (24 h by default), so a minute of skew between Cloudflare's clock and
/// the isolate's changes nothing that matters and avoids refusing a fresh token.
pub const LEEWAY_SECS: u64 = 60;

/// The longest token looked at. Access application tokens are about 1 KiB; anything far
/// larger is refused before it is decoded.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The e-mail address of [`development_identity`].
pub const DEVELOPMENT_EMAIL: &str = "developer@localhost";

/// Why a request to the dashboard is not let in. The text is for the log: fixed words,
/// never the token or anything taken from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// No `Cf-Access-Jwt-Assertion` header, or an empty one (`401`).
    #[error("no Cloudflare Access token")]
    NoToken,
    /// Not three base64url parts, a header or claims that are not the JSON expected, or a
    /// `crit` header; the text says which, in fixed words.
    #[error("malformed Access token: {0}")]
    Malformed(&'static str),
    /// An `alg` other than exactly `RS256` (including `none` and `HS256`), or none at all.
    #[error("Access token refused: its algorithm is not RS256")]
    AlgorithmNotAllowed,
    /// A `typ` other than `JWT`.
    #[error("Access token refused: its type is not JWT")]
    TypeNotAllowed,
    /// No `kid` in the header: there is no way to choose a key.
    #[error("Access token names no signing key")]
    NoKeyId,
    /// The `kid` is not among the team's keys, even after refetching them.
    #[error("Access token signed by an unknown key, even after refreshing the keys")]
    UnknownKey,
    /// The key with that `kid` is not an RSA signing key for RS256.
    #[error("Access signing key is not an RS256 RSA signing key")]
    UnusableKey,
    /// The signature does not verify with the key named by `kid`.
    #[error("Access token signature does not verify")]
    BadSignature,
    /// `iss` is not the configured team domain.
    #[error("Access token issued by another team domain")]
    WrongIssuer,
    /// `aud` does not contain the configured application audience tag.
    #[error("Access token is for another application")]
    WrongAudience,
    /// No `exp` claim.
    #[error("Access token has no expiry")]
    NoExpiry,
    /// `exp` has passed (beyond the leeway).
    #[error("Access token expired")]
    Expired,
    /// `nbf` is still to come (beyond the leeway).
    #[error("Access token not yet valid")]
    NotYetValid,
    /// No `email` claim, or an empty one (an Access service token, for instance).
    #[error("Access token carries no e-mail address")]
    NoEmail,
    /// A valid identity in neither `DASHBOARD_ADMINS` nor `DASHBOARD_VIEWERS`.
    #[error("identity in neither DASHBOARD_ADMINS nor DASHBOARD_VIEWERS")]
    NotAllowed,
    /// The key source failed (the certs could not be fetched or read); the text is its
    /// detail, written by the worker, for the log (`503`: nothing was wrong with the
    /// request, and nothing is let in).
    #[error("Access signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

impl AccessError {
    /// The HTTP status the dashboard answers with: `401` without a token, `503` when the
    /// keys could not be had, `403` for every other refusal.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            AccessError::NoToken => 401,
            AccessError::KeysUnavailable(_) => 503,
            AccessError::Malformed(_)
            | AccessError::AlgorithmNotAllowed
            | AccessError::TypeNotAllowed
            | AccessError::NoKeyId
            | AccessError::UnknownKey
            | AccessError::UnusableKey
            | AccessError::BadSignature
            | AccessError::WrongIssuer
            | AccessError::WrongAudience
            | AccessError::NoExpiry
            | AccessError::Expired
            | AccessError::NotYetValid
            | AccessError::NoEmail
            | AccessError::NotAllowed => 403,
        }
    }
}

/// One public key of the team's key set, as `/cdn-cgi/access/certs` lists it. Unknown
/// members are ignored; missing ones are empty, so that one odd key cannot make the whole
/// set unreadable (such a key is simply never usable).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Jwk {
    /// The key id a token names in its header.
    pub kid: String,
    /// The key type; usable only when `RSA`.
    pub kty: String,
    /// The algorithm, if stated; usable only when absent or `RS256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// The intended use, if stated; usable only when absent or `sig`.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// The modulus, base64url without padding.
    pub n: String,
    /// The public exponent, base64url without padding.
    pub e: String,
}

impl Jwk {
    /// True when this key can verify an RS256 signature: an RSA key with a modulus and an
    /// exponent, for RS256 (or unstated) and for signatures (or unstated).
    #[must_use]
    pub fn is_rs256_signing_key(&self) -> bool {
        self.kty == "RSA"
            && !self.n.is_empty()
            && !self.e.is_empty()
            && self.alg.as_deref().is_none_or(|alg| alg == "RS256")
            && self.key_use.as_deref().is_none_or(|u| u == "sig")
    }
}

/// A key set: `{"keys": [...]}`. Cloudflare's certs endpoint also returns `public_cert`
/// and `public_certs`, which are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct Jwks {
    /// The keys, in the endpoint's order.
    #[serde(default)]
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Reads the body of `/cdn-cgi/access/certs`.
    ///
    /// # Errors
    /// [`AccessError::KeysUnavailable`] when it is not a JSON key set.
    pub fn from_json(body: &str) -> Result<Self, AccessError> {
        from_json_object(body.as_bytes()).ok_or_else(|| {
            AccessError::KeysUnavailable("the certs endpoint did not answer a JSON key set".into())
        })
    }

    /// The first key with this id.
    #[must_use]
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|key| key.kid == kid)
    }
}

/// Where the team's public keys come from. The worker fetches
/// [`AccessConfig::certs_url`] and keeps the key set per isolate.
#[allow(async_fn_in_trait)]
pub trait KeySource {
    /// The team's keys: the kept ones when `refresh` is false (fetching them the first
    /// time), freshly fetched ones when it is true ([`authenticate`] asks so at most once
    /// per token, when the token's `kid` is not among the kept keys). An implementation
    /// may answer a refresh from what it kept when it fetched very recently (say, within
    /// the last minute), so that tokens with made-up `kid`s cannot make every request fetch.
    ///
    /// # Errors
    /// [`AccessError::KeysUnavailable`] when the keys can be neither fetched nor kept ones
    /// used.
    async fn keys(&self, refresh: bool) -> Result<Jwks, AccessError>;
}

/// How long fetched keys are used before they are fetched again: a key the team removes
/// (a revoked or leaked one) stops opening the dashboard within this long.
pub const KEYS_MAX_AGE_MS: u64 = 3_600_000;

/// A refresh (a token naming a `kid` not among the kept keys) or a fetch that failed is not
/// tried again within this long: tokens naming made-up `kid`s, or an unreachable team
/// domain, cannot make every request fetch.
pub const MIN_REFRESH_MS: u64 = 60_000;

/// The team's keys as an isolate keeps them, and when to fetch them again: the policy of the
/// worker's [`KeySource`], kept here so it is tested without a network.
#[derive(Debug, Clone, Default)]
pub struct KeyCache {
    /// The keys last fetched, and when.
    keys: Option<(Jwks, u64)>,
    /// When the last refresh, or the last fetch that failed, was tried.
    last_attempt: Option<u64>,
}

/// What to do for a [`KeySource::keys`] call, from [`KeyCache::plan`].
#[derive(Debug, Clone, PartialEq)]
pub enum KeyPlan {
    /// Answer with the kept keys.
    Use(Jwks),
    /// Fetch them (and tell [`KeyCache::fetched`] how it went).
    Fetch,
    /// Neither: the last attempt failed less than [`MIN_REFRESH_MS`] ago and no key younger
    /// than [`KEYS_MAX_AGE_MS`] is kept. The time to wait, in seconds.
    Wait(u64),
}

impl KeyCache {
    /// What a call for the keys at `now` (ms) does. Kept keys are used while younger than
    /// [`KEYS_MAX_AGE_MS`]; a `refresh` fetches unless one was tried in the last
    /// [`MIN_REFRESH_MS`] (the first fetch of an isolate is not a refresh, so a rotation is
    /// picked up at once); a failed fetch is throttled the same way.
    #[must_use]
    pub fn plan(&self, now: u64, refresh: bool) -> KeyPlan {
        let fresh = self
            .keys
            .as_ref()
            .filter(|(_, at)| now.saturating_sub(*at) < KEYS_MAX_AGE_MS)
            .map(|(keys, _)| keys);
        let tried_lately = self
            .last_attempt
            .filter(|at| now.saturating_sub(*at) < MIN_REFRESH_MS);
        match (fresh, tried_lately) {
            (Some(keys), _) if !refresh => KeyPlan::Use(keys.clone()),
            (Some(keys), Some(_)) => KeyPlan::Use(keys.clone()),
            (None, Some(at)) => KeyPlan::Wait((at + MIN_REFRESH_MS).saturating_sub(now) / 1000 + 1),
            (_, None) => KeyPlan::Fetch,
        }
    }

    /// Records a fetch made at `now` for a call with `refresh`, and how it went.
    pub fn fetched(&mut self, now: u64, refresh: bool, result: Option<&Jwks>) {
        if let Some(keys) = result {
            self.keys = Some((keys.clone(), now));
        }
        if refresh || result.is_none() {
            self.last_attempt = Some(now);
        }
    }
}

/// Checks an RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256). The worker implements it
/// with `WebCrypto`; the native tests with the `rsa` crate.
#[allow(async_fn_in_trait)]
pub trait SignatureVerifier {
    /// True only when `signature` is `jwk`'s RS256 signature of `signing_input`. A key that
    /// cannot be imported, or any other failure, is `false`.
    async fn verify_rs256(&self, jwk: &Jwk, signing_input: &[u8], signature: &[u8]) -> bool;
}

/// One entry of `DASHBOARD_ADMINS` or `DASHBOARD_VIEWERS`, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `ana@sivocenter.com`: that address only.
    Address(String),
    /// `@sivocenter.com`: every address at exactly that domain (not its subdomains).
    Domain(String),
}

impl Rule {
    /// Reads one entry, trimmed and case-insensitive: `local@domain` or `@domain`. `None`
    /// for anything else, including a `*` (write `@domain` for a whole domain).
    #[must_use]
    pub fn parse(entry: &str) -> Option<Rule> {
        let entry = entry.trim().to_lowercase();
        if let Some(domain) = entry.strip_prefix('@') {
            return is_domain(domain).then(|| Rule::Domain(domain.to_owned()));
        }
        let (local, domain) = entry.split_once('@')?;
        (is_local_part(local) && is_domain(domain)).then(|| Rule::Address(entry.clone()))
    }

    /// True when `email` (already trimmed and lower-cased) is this address or at this domain.
    #[must_use]
    pub fn matches(&self, email: &str) -> bool {
        match self {
            Rule::Address(address) => email == address,
            Rule::Domain(domain) => email
                .rsplit_once('@')
                .is_some_and(|(local, at)| !local.is_empty() && at == domain),
        }
    }
}

fn is_local_part(local: &str) -> bool {
    !local.is_empty()
        && local.chars().all(|c| {
            !c.is_whitespace()
                && !c.is_control()
                && !matches!(
                    c,
                    '@' | '*' | '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | ']' | '\\'
                )
        })
}

fn is_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// Entries of a role list that are neither an e-mail address nor `@domain`. The text names
/// them by position (counting from 1, empty entries included), never by value: the
/// problems of the configuration may be shown where addresses should not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe_positions(.positions))]
#[non_exhaustive]
pub struct RuleError {
    /// The positions of the bad entries, counting from 1.
    pub positions: Vec<usize>,
}

fn describe_positions(positions: &[usize]) -> String {
    let list = positions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let (noun, verb) = if positions.len() == 1 {
        ("entry", "is")
    } else {
        ("entries", "are")
    };
    format!("{noun} {list} {verb} neither an e-mail address nor @domain")
}

/// Reads a role list: comma-separated e-mail addresses or `@domain` entries, trimmed and
/// case-insensitive; empty entries (a trailing comma) are skipped.
///
/// # Errors
/// A [`RuleError`] naming every entry that is neither.
pub fn parse_rules(raw: &str) -> Result<Vec<Rule>, RuleError> {
    let mut rules = Vec::new();
    let mut positions = Vec::new();
    for (index, entry) in raw.split(',').enumerate() {
        if entry.trim().is_empty() {
            continue;
        }
        match Rule::parse(entry) {
            Some(rule) => rules.push(rule),
            None => positions.push(index + 1),
        }
    }
    if positions.is_empty() {
        Ok(rules)
    } else {
        Err(RuleError { positions })
    }
}

/// Why the Access settings cannot be used; the dashboard stays shut (`503`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessConfigError {
    /// `ACCESS_TEAM_DOMAIN` or `ACCESS_AUD` is empty.
    #[error("ACCESS_TEAM_DOMAIN and ACCESS_AUD must both be set")]
    NotConfigured,
    /// `ACCESS_TEAM_DOMAIN` is not an `https://` origin.
    #[error("ACCESS_TEAM_DOMAIN must look like https://<team>.cloudflareaccess.com (no path)")]
    BadTeamDomain,
    /// A role list has entries that are neither an address nor `@domain`.
    #[error("{setting}: {source}")]
    BadRules {
        /// `DASHBOARD_ADMINS` or `DASHBOARD_VIEWERS`.
        setting: &'static str,
        /// Which entries.
        source: RuleError,
    },
}

/// What [`authenticate`] checks a token against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    /// `ACCESS_TEAM_DOMAIN`, e.g. `https://team.cloudflareaccess.com`: the tokens' `iss`.
    pub team_domain: String,
    /// `ACCESS_AUD`: the application's audience tag.
    pub audience: String,
    /// `DASHBOARD_VIEWERS`.
    pub viewers: Vec<Rule>,
    /// `DASHBOARD_ADMINS`.
    pub admins: Vec<Rule>,
}

impl AccessConfig {
    /// Reads `ACCESS_TEAM_DOMAIN`, `ACCESS_AUD`, `DASHBOARD_ADMINS` and `DASHBOARD_VIEWERS`
    /// through `var` (`None` when a setting is absent). The team domain is stored without
    /// a trailing slash.
    ///
    /// # Errors
    /// [`AccessConfigError::NotConfigured`] when the team domain or the audience is empty
    /// (the dashboard answers `503`, or opens as [`development_identity`] with the demo
    /// origin); the other variants for a setting that is set but wrong.
    pub fn from_settings(var: impl Fn(&str) -> Option<String>) -> Result<Self, AccessConfigError> {
        let setting = |name: &str| var(name).map(|v| v.trim().to_owned()).unwrap_or_default();
        let (team_domain, audience) = (setting("ACCESS_TEAM_DOMAIN"), setting("ACCESS_AUD"));
        if team_domain.is_empty() || audience.is_empty() {
            return Err(AccessConfigError::NotConfigured);
        }
        let team_domain = team_domain.strip_suffix('/').unwrap_or(&team_domain);
        let host = team_domain.strip_prefix("https://").unwrap_or_default();
        if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
            return Err(AccessConfigError::BadTeamDomain);
        }
        let rules = |name: &'static str| {
            parse_rules(&setting(name)).map_err(|source| AccessConfigError::BadRules {
                setting: name,
                source,
            })
        };
        Ok(AccessConfig {
            team_domain: team_domain.to_owned(),
            audience,
            admins: rules("DASHBOARD_ADMINS")?,
            viewers: rules("DASHBOARD_VIEWERS")?,
        })
    }

    /// The `iss` a token must carry: the team domain without one trailing slash.
    #[must_use]
    pub fn issuer(&self) -> &str {
        self.team_domain
            .strip_suffix('/')
            .unwrap_or(&self.team_domain)
    }

    /// Where the team's public keys are: `<team domain>/cdn-cgi/access/certs`.
    #[must_use]
    pub fn certs_url(&self) -> String {
        format!("{}/cdn-cgi/access/certs", self.issuer())
    }
}

/// What a dashboard user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees the statistics.
    Viewer,
    /// Also reads proof records and the audit log.
    Admin,
}

impl Role {
    /// True when this role may use a route that needs `needed`: an admin may do what a
    /// viewer may.
    #[must_use]
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

/// Who is using the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The token's `email`, trimmed and lower-cased.
    pub email: String,
    /// From the role lists.
    pub role: Role,
}

/// The identity of the demo origin's dashboard, used by the worker only when the origin
/// is the demo (`ORIGIN_URL = "demo"`, on a loopback host) and Access is not configured: `developer@localhost`,
/// admin. Every dashboard page says so.
#[must_use]
pub fn development_identity() -> Identity {
    Identity {
        email: DEVELOPMENT_EMAIL.to_owned(),
        role: Role::Admin,
    }
}

/// The role of `email` (trimmed, case-insensitive): [`Role::Admin`] when an entry of
/// `DASHBOARD_ADMINS` matches it, else [`Role::Viewer`] when one of `DASHBOARD_VIEWERS`
/// does, else `None`.
#[must_use]
pub fn role_of(email: &str, config: &AccessConfig) -> Option<Role> {
    let email = email.trim().to_lowercase();
    let listed = |rules: &[Rule]| rules.iter().any(|rule| rule.matches(&email));
    if listed(&config.admins) {
        Some(Role::Admin)
    } else if listed(&config.viewers) {
        Some(Role::Viewer)
    } else {
        None
    }
}

/// Checks the `Cf-Access-Jwt-Assertion` header's value (`token`) at `now_secs` (seconds
/// since the epoch) and returns who sent it, with their role.
///
/// # Errors
/// [`AccessError::NoToken`] without a token (`401`); [`AccessError::KeysUnavailable`] when
/// the key source fails (`503`); another variant, each a reason to answer `403`, for any
/// token that is not a valid Access token for this application and team, or whose
/// identity is in neither role list.
pub async fn authenticate<K: KeySource, V: SignatureVerifier>(
    token: Option<&str>,
    config: &AccessConfig,
    keys: &K,
    verifier: &V,
    now_secs: u64,
) -> Result<Identity, AccessError> {
    let raw = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AccessError::NoToken)?;
    let token = Token::parse(raw)?;
    let kid = token.key_id()?;
    let jwk = find_key(keys, kid).await?;
    let genuine = verifier
        .verify_rs256(&jwk, token.signing_input.as_bytes(), &token.signature)
        .await;
    if !genuine {
        return Err(AccessError::BadSignature);
    }
    let claims: Claims = from_json_object(&token.payload).ok_or(AccessError::Malformed(
        "the claims are not the JSON object expected",
    ))?;
    let email = claims.check(config, now_secs)?;
    let role = role_of(&email, config).ok_or(AccessError::NotAllowed)?;
    Ok(Identity { email, role })
}

/// The key named `kid`: from the kept keys, else from freshly fetched ones (once).
async fn find_key<K: KeySource>(keys: &K, kid: &str) -> Result<Jwk, AccessError> {
    let jwk = match keys.keys(false).await?.find(kid) {
        Some(jwk) => jwk.clone(),
        None => keys
            .keys(true)
            .await?
            .find(kid)
            .cloned()
            .ok_or(AccessError::UnknownKey)?,
    };
    if jwk.is_rs256_signing_key() {
        Ok(jwk)
    } else {
        Err(AccessError::UnusableKey)
    }
}

/// A compact JWS split into its parts, nothing checked yet but its shape.
struct Token<'a> {
    header: Header,
    /// `<header>.<payload>` as sent: what the signature covers.
    signing_input: &'a str,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// The header members looked at; every other one is ignored (keys never come from here).
#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    typ: Option<String>,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

impl<'a> Token<'a> {
    fn parse(raw: &'a str) -> Result<Self, AccessError> {
        if raw.len() > MAX_TOKEN_BYTES {
            return Err(AccessError::Malformed("longer than 16 KiB"));
        }
        let three_parts = AccessError::Malformed("not three dot-separated parts");
        let (signing_input, signature) = raw.rsplit_once('.').ok_or(three_parts.clone())?;
        let (header, payload) = signing_input.split_once('.').ok_or(three_parts.clone())?;
        if payload.contains('.') {
            return Err(three_parts);
        }
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| AccessError::Malformed("a part is not unpadded base64url"))
        };
        let (header, payload, signature) = (decode(header)?, decode(payload)?, decode(signature)?);
        let header = from_json_object(&header).ok_or(AccessError::Malformed(
            "the header is not the JSON object expected",
        ))?;
        Ok(Token {
            header,
            signing_input,
            payload,
            signature,
        })
    }

    /// Checks the header and returns the key id. The algorithm is checked first, so that
    /// a token that is not RS256 never causes a key fetch or a verification.
    fn key_id(&self) -> Result<&str, AccessError> {
        if self.header.alg.as_deref() != Some("RS256") {
            return Err(AccessError::AlgorithmNotAllowed);
        }
        let typ = self.header.typ.as_deref();
        if !typ.is_none_or(|t| t.eq_ignore_ascii_case("JWT")) {
            return Err(AccessError::TypeNotAllowed);
        }
        if self.header.crit.is_some() {
            return Err(AccessError::Malformed("critical header parameters (crit)"));
        }
        self.header
            .kid
            .as_deref()
            .filter(|kid| !kid.is_empty())
            .ok_or(AccessError::NoKeyId)
    }
}

/// The claims looked at; every other one is ignored.
#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    aud: Option<Audience>,
    exp: Option<u64>,
    nbf: Option<u64>,
    email: Option<String>,
}

/// `aud`: one audience or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Claims {
    /// Checks issuer, audience and validity at `now`; returns the e-mail address,
    /// trimmed and lower-cased.
    fn check(self, config: &AccessConfig, now: u64) -> Result<String, AccessError> {
        let issuer = config.issuer();
        if issuer.is_empty() || self.iss.as_deref() != Some(issuer) {
            return Err(AccessError::WrongIssuer);
        }
        let audience = config.audience.as_str();
        let for_us = !audience.is_empty()
            && match &self.aud {
                Some(Audience::One(aud)) => aud == audience,
                Some(Audience::Many(auds)) => auds.iter().any(|aud| aud == audience),
                None => false,
            };
        if !for_us {
            return Err(AccessError::WrongAudience);
        }
        let exp = self.exp.ok_or(AccessError::NoExpiry)?;
        if exp.saturating_add(LEEWAY_SECS) <= now {
            return Err(AccessError::Expired);
        }
        if self
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS))
        {
            return Err(AccessError::NotYetValid);
        }
        self.email
            .map(|email| email.trim().to_lowercase())
            .filter(|email| !email.is_empty())
            .ok_or(AccessError::NoEmail)
    }
}

/// `bytes` as a `T`, only when they are a JSON object (not an array read positionally).
fn from_json_object<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return None;
    }
    serde_json::from_slice(bytes).ok()
}

#[cfg(test)]
mod tests;

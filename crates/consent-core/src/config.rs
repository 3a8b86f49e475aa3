//! Typed configuration, read once per isolate from `wrangler.toml` vars and secrets.
//!
//! Parsing never fails as a whole: a bad or missing setting becomes a [`ConfigProblem`], the
//! site keeps being served, and only the routes that need the setting refuse to work
//! (README, "Configuration"). Problems never carry a secret's value.

use base64::Engine as _;
use std::fmt;

/// Where the worker sends requests that are not its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `ORIGIN_URL = "demo"`: the demo site bundled in `www/`, for local development only,
    /// and only on a loopback host ([`crate::ip::is_loopback_host`]).
    Demo,
    /// `ORIGIN_URL` absent or empty: a configuration that lost its origin. Never the demo:
    /// pages answer `503 not_configured` and health says `degraded`.
    Unset,
    /// `ORIGIN_URL = "route"`: forward each request unchanged to the origin behind the route.
    Route,
    /// `ORIGIN_URL = "http(s)://host[:port]"`: proxy to this base URL (no trailing slash).
    Url(String),
}

impl Origin {
    /// True only for the bundled demo site, the one setting where development defaults for
    /// secrets are accepted.
    #[must_use]
    pub fn is_development(&self) -> bool {
        matches!(self, Origin::Demo)
    }

    /// True when pages can be served for a request to `host`: a real origin always, the demo
    /// only on a loopback host, nothing without an origin.
    #[must_use]
    pub fn serves(&self, host: &str) -> bool {
        match self {
            Origin::Route | Origin::Url(_) => true,
            Origin::Demo => crate::ip::is_loopback_host(host),
            Origin::Unset => false,
        }
    }
}

/// A problem with one setting, safe to show on the health route and in logs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigProblem {
    /// The setting's name, as in `wrangler.toml` or `wrangler secret put`.
    pub setting: &'static str,
    /// What is wrong and how to fix it; never the secret's value.
    pub message: String,
    /// `error`: the routes needing the setting are refused; `warning`: it works, but
    /// should not be deployed like this.
    pub severity: Severity,
}

/// How serious a [`ConfigProblem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Works for development, must not be deployed as is.
    Warning,
    /// The feature that needs this setting is off until it is fixed.
    Error,
}

/// Key material that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// The raw key bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// The worker's whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ORIGIN_URL`.
    pub origin: Origin,
    /// `GA4_MEASUREMENT_ID`, `None` when empty.
    pub ga4_measurement_id: Option<String>,
    /// `GTM_CONTAINER_ID`, `None` when empty.
    pub gtm_container_id: Option<String>,
    /// `POLICY_VERSION`; a decision given under another version counts as no decision.
    pub policy_version: String,
    /// `CONSENT_MAX_AGE_DAYS`, 1..=365 (docs/compliance.md rule 10: ask again within 12 months).
    pub consent_max_age_days: u32,
    /// `RECORD_RETENTION_DAYS`, sealed into each proof record when written.
    pub record_retention_days: u32,
    /// `CONSENT_SIGNING_KEY`; `None` when missing or unusable.
    pub signing_key: Option<SecretBytes>,
    /// `RECORD_ENCRYPTION_KEY`, exactly 32 bytes; `None` when missing or unusable.
    pub record_key: Option<SecretBytes>,
    /// `RECORD_ENCRYPTION_KEY_PREVIOUS`: the record key before the current one, kept during a
    /// rotation to open older records, never to seal. `None` when unset or unusable.
    pub record_key_previous: Option<SecretBytes>,
    /// `AUDIT_LOG_KEY`, exactly 32 bytes, the audit log's own (never the record key); `None`
    /// when missing or unusable: the audited dashboard actions are refused.
    pub audit_key: Option<SecretBytes>,
    /// The marketing dashboard's settings.
    pub dashboard: DashboardSettings,
    /// `ALERT_WEBHOOK_URL` (a secret: the URL is the credential); `None`: no summary or
    /// alert is posted.
    pub alert_webhook: Option<SecretBytes>,
    /// `ALERT_COVERAGE_DROP_POINTS` and `ALERT_SILENCE_HOURS`.
    pub alerts: crate::dashboard::alerts::AlertSettings,
    /// Everything that is wrong, in the order the settings are read.
    pub problems: Vec<ConfigProblem>,
}

/// Who may open the dashboard, and how often page views are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardSettings {
    /// `ACCESS_TEAM_DOMAIN`, without a trailing slash: `https://<team>.cloudflareaccess.com`
    /// (`http://` only for a loopback address, in tests).
    pub team_domain: Option<String>,
    /// `ACCESS_AUD`: the Access application's audience tag.
    pub audience: Option<String>,
    /// `DASHBOARD_VIEWERS`, as written (parsed by `access::AccessConfig`).
    pub viewers: String,
    /// `DASHBOARD_ADMINS`, likewise.
    pub admins: String,
    /// `STATS_FLUSH_SECONDS`: how long page views wait in an isolate before they are written
    /// (0 to [`MAX_STATS_FLUSH_SECONDS`]; 0: at once).
    pub stats_flush_seconds: u32,
}

impl DashboardSettings {
    /// True when Cloudflare Access is configured: the team and the audience are both set.
    #[must_use]
    pub fn access_configured(&self) -> bool {
        self.team_domain.is_some() && self.audience.is_some()
    }
}

/// The default of `STATS_FLUSH_SECONDS`.
pub const DEFAULT_STATS_FLUSH_SECONDS: u32 = 20;
/// The longest `STATS_FLUSH_SECONDS`: the request that opens a batch waits this long after its
/// response, inside its `waitUntil`, which the platform keeps for at most 30 s; 25 leaves the
/// write its time.
pub const MAX_STATS_FLUSH_SECONDS: u32 = 25;

/// The D1 schema as the health route finds it: the newest migration applied (wrangler's
/// `d1_migrations` table) against the newest the worker was built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// The newest migration is applied.
    Current,
    /// An older one is (or none, or the table is missing): `wrangler d1 migrations apply`.
    Behind(Option<String>),
    /// D1 could not be asked (no binding, or the query failed).
    Unavailable,
}

/// What the health route knows beyond the configuration: the request's host, the database,
/// and the build.
#[derive(Debug, Clone)]
pub struct HealthFacts<'a> {
    /// Whether the request came to a loopback host.
    pub loopback: bool,
    /// The D1 schema.
    pub schema: SchemaState,
    /// The git commit the worker was built from (`scripts/build.sh`), if known.
    pub commit: Option<&'a str>,
    /// When it was built (RFC 3339), if known.
    pub built_at: Option<&'a str>,
}

impl Config {
    /// The record keys records are opened with: the current one and the previous one, if
    /// set; `None` without a current key.
    #[must_use]
    pub fn record_keyring(&self) -> Option<crate::proof::record::Keyring<'_>> {
        self.record_key.as_ref().map(|current| {
            crate::proof::record::Keyring::new(
                current.expose(),
                self.record_key_previous.as_ref().map(SecretBytes::expose),
            )
        })
    }

    /// `GET /_consent/health`: what is configured and what is wrong, never a secret or the
    /// origin's address. `degraded` when a setting is in error, when the demo site or the
    /// development keys are reached on a host that is not loopback, and when D1's schema is
    /// behind the newest migration or cannot be read.
    #[must_use]
    pub fn health(&self, facts: &HealthFacts<'_>) -> serde_json::Value {
        let origin = match &self.origin {
            Origin::Demo => "demo",
            Origin::Unset => "unset",
            Origin::Route => "route",
            Origin::Url(_) => "url",
        };
        let mut reasons: Vec<&str> = Vec::new();
        if self.problems.iter().any(|p| p.severity == Severity::Error) {
            reasons.push("a setting is in error (see problems)");
        }
        if self.origin.is_development() && !facts.loopback {
            reasons
                .push("development mode (the demo site and development keys) off a loopback host");
        }
        let database = match &facts.schema {
            SchemaState::Current => {
                serde_json::json!({ "schema": "current", "expected": crate::dashboard::stats::LATEST_MIGRATION })
            }
            SchemaState::Behind(applied) => {
                reasons.push(
                    "D1's schema is behind the newest migration: run wrangler d1 migrations apply",
                );
                serde_json::json!({ "schema": "behind", "applied": applied, "expected": crate::dashboard::stats::LATEST_MIGRATION })
            }
            SchemaState::Unavailable => {
                reasons.push("D1 cannot be read");
                serde_json::json!({ "schema": "unavailable", "expected": crate::dashboard::stats::LATEST_MIGRATION })
            }
        };
        serde_json::json!({
            "status": if reasons.is_empty() { "ok" } else { "degraded" },
            "degraded_because": reasons,
            "version": { "commit": facts.commit, "built_at": facts.built_at },
            "database": database,
            "origin": origin,
            "development": self.origin.is_development(),
            "ga4": self.ga4_measurement_id.is_some(),
            "gtm": self.gtm_container_id.is_some(),
            "policy_version": self.policy_version,
            "consent_max_age_days": self.consent_max_age_days,
            "record_retention_days": self.record_retention_days,
            "consent_recording": self.signing_key.is_some() && self.record_key.is_some(),
            "dashboard": if self.dashboard.access_configured() {
                "access"
            } else if self.origin.is_development() {
                "development"
            } else {
                "closed"
            },
            "alerts": if self.alert_webhook.is_some() { "on" } else { "off: ALERT_WEBHOOK_URL is not set" },
            "problems": self.problems,
        })
    }
}

/// The default of `POLICY_VERSION`.
pub const DEFAULT_POLICY_VERSION: &str = "1";
/// The default of `CONSENT_MAX_AGE_DAYS`: 12 months, AEPD's "ask again" horizon.
pub const DEFAULT_CONSENT_MAX_AGE_DAYS: u32 = 365;
/// The default of `RECORD_RETENTION_DAYS`: the consent's life plus the 3-year limitation
/// period for LOPDGDD infringements (art. 72), so a consent can be shown while it can be
/// challenged.
pub const DEFAULT_RECORD_RETENTION_DAYS: u32 = 365 * 4;
/// docs/compliance.md rule 10: ask again after at most 12 months (stricter than CNIL's 13).
pub const MAX_CONSENT_MAX_AGE_DAYS: u32 = 365;
/// Ten years: beyond that a retention setting is surely a typo.
pub const MAX_RECORD_RETENTION_DAYS: u32 = 3650;

/// Development-only signing key, accepted only with the demo origin.
const DEV_SIGNING_KEY: &[u8] = b"sivo-consent development signing key - never deploy";
/// Development-only record key (32 bytes), accepted only with the demo origin.
const DEV_RECORD_KEY: [u8; 32] = *b"sivo-consent dev record key 32by";
/// Development-only audit log key (32 bytes), accepted only with the demo origin.
const DEV_AUDIT_KEY: [u8; 32] = *b"sivo-consent dev audit key 32byt";

/// Reads every setting through `var` (plain vars) and `secret` (secrets); each returns
/// `None` when the setting is absent.
#[must_use]
pub fn parse_config(
    var: impl Fn(&str) -> Option<String>,
    secret: impl Fn(&str) -> Option<String>,
) -> Config {
    let mut problems = Vec::new();
    let origin = parse_origin(var("ORIGIN_URL").as_deref(), &mut problems);
    let ga4_measurement_id = parse_tag_id(
        "GA4_MEASUREMENT_ID",
        "G-",
        var("GA4_MEASUREMENT_ID"),
        &mut problems,
    );
    let gtm_container_id = parse_tag_id(
        "GTM_CONTAINER_ID",
        "GTM-",
        var("GTM_CONTAINER_ID"),
        &mut problems,
    );
    let policy_version = parse_policy_version(var("POLICY_VERSION"), &mut problems);
    let consent_max_age_days = parse_days(
        "CONSENT_MAX_AGE_DAYS",
        var("CONSENT_MAX_AGE_DAYS"),
        DEFAULT_CONSENT_MAX_AGE_DAYS,
        MAX_CONSENT_MAX_AGE_DAYS,
        &mut problems,
    );
    let record_retention_days = parse_days(
        "RECORD_RETENTION_DAYS",
        var("RECORD_RETENTION_DAYS"),
        DEFAULT_RECORD_RETENTION_DAYS,
        MAX_RECORD_RETENTION_DAYS,
        &mut problems,
    );
    let dev = origin.is_development();
    let signing_key = parse_signing_key(secret("CONSENT_SIGNING_KEY"), dev, &mut problems);
    let (record_key, record_key_previous, audit_key) = parse_keys(&secret, dev, &mut problems);
    let dashboard = parse_dashboard(&var, &mut problems);
    let alert_webhook = parse_webhook(secret("ALERT_WEBHOOK_URL"), &mut problems);
    let alerts = parse_alert_settings(&var, &mut problems);
    Config {
        origin,
        ga4_measurement_id,
        gtm_container_id,
        policy_version,
        consent_max_age_days,
        record_retention_days,
        signing_key,
        record_key,
        record_key_previous,
        audit_key,
        dashboard,
        alert_webhook,
        alerts,
        problems,
    }
}

fn parse_alert_settings(
    var: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<ConfigProblem>,
) -> crate::dashboard::alerts::AlertSettings {
    use crate::dashboard::alerts::{DEFAULT_COVERAGE_DROP_POINTS, DEFAULT_SILENCE_HOURS};
    crate::dashboard::alerts::AlertSettings {
        coverage_drop_points: parse_bounded(
            "ALERT_COVERAGE_DROP_POINTS",
            var("ALERT_COVERAGE_DROP_POINTS"),
            DEFAULT_COVERAGE_DROP_POINTS,
            1..=100,
            problems,
        ),
        silence_hours: parse_bounded(
            "ALERT_SILENCE_HOURS",
            var("ALERT_SILENCE_HOURS"),
            DEFAULT_SILENCE_HOURS,
            0..=168,
            problems,
        ),
    }
}

fn parse_webhook(raw: Option<String>, problems: &mut Vec<ConfigProblem>) -> Option<SecretBytes> {
    let url = non_empty(raw)?;
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
        .iter()
        .any(|p| url.starts_with(p));
    let https = url
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if https || loopback {
        Some(SecretBytes(url.into_bytes()))
    } else {
        problems.push(error(
            "ALERT_WEBHOOK_URL",
            "must be an https:// URL (Slack or Teams incoming webhook); no summary or alert is posted",
        ));
        None
    }
}

fn parse_bounded(
    setting: &'static str,
    raw: Option<String>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
    problems: &mut Vec<ConfigProblem>,
) -> u32 {
    let Some(raw) = non_empty(raw) else {
        return default;
    };
    match raw.parse::<u32>() {
        Ok(n) if range.contains(&n) => n,
        _ => {
            problems.push(error(
                setting,
                format!(
                    "must be a whole number from {} to {}; using {default}",
                    range.start(),
                    range.end()
                ),
            ));
            default
        }
    }
}

fn parse_dashboard(
    var: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<ConfigProblem>,
) -> DashboardSettings {
    let team_domain = non_empty(var("ACCESS_TEAM_DOMAIN")).and_then(|raw| {
        let domain = raw.trim_end_matches('/').to_owned();
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| {
                domain
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
            });
        let https_host = domain
            .strip_prefix("https://")
            .is_some_and(|host| !host.is_empty() && !host.contains(['/', '?', '#', '@']));
        if https_host || loopback {
            Some(domain)
        } else {
            problems.push(error(
                "ACCESS_TEAM_DOMAIN",
                "expected https://<team>.cloudflareaccess.com; the dashboard stays closed",
            ));
            None
        }
    });
    let audience = non_empty(var("ACCESS_AUD"));
    if team_domain.is_some() != audience.is_some() {
        problems.push(error(
            if audience.is_none() {
                "ACCESS_AUD"
            } else {
                "ACCESS_TEAM_DOMAIN"
            },
            "ACCESS_TEAM_DOMAIN and ACCESS_AUD are set together; the dashboard stays closed",
        ));
    }
    let stats_flush_seconds = match non_empty(var("STATS_FLUSH_SECONDS")) {
        None => DEFAULT_STATS_FLUSH_SECONDS,
        Some(raw) => match raw.parse::<u32>() {
            Ok(s) if s <= MAX_STATS_FLUSH_SECONDS => s,
            _ => {
                problems.push(error(
                    "STATS_FLUSH_SECONDS",
                    format!("must be 0 to {MAX_STATS_FLUSH_SECONDS} seconds; using {DEFAULT_STATS_FLUSH_SECONDS}"),
                ));
                DEFAULT_STATS_FLUSH_SECONDS
            }
        },
    };
    DashboardSettings {
        team_domain,
        audience,
        viewers: var("DASHBOARD_VIEWERS").unwrap_or_default(),
        admins: var("DASHBOARD_ADMINS").unwrap_or_default(),
        stats_flush_seconds,
    }
}

fn error(setting: &'static str, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        setting,
        message: message.into(),
        severity: Severity::Error,
    }
}

fn warning(setting: &'static str, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        setting,
        message: message.into(),
        severity: Severity::Warning,
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn parse_origin(raw: Option<&str>, problems: &mut Vec<ConfigProblem>) -> Origin {
    let raw = raw.map(str::trim).unwrap_or_default();
    if raw.is_empty() {
        // A deployed environment does not inherit [vars]: an environment that lost the line
        // must not become the demo site.
        problems.push(error(
            "ORIGIN_URL",
            "not set: pages answer 503 until it is \"route\" or an http(s) URL (\"demo\" for local development)",
        ));
        return Origin::Unset;
    }
    if raw == "demo" {
        problems.push(warning(
            "ORIGIN_URL",
            "demo: serving the bundled demo site with development keys, on a loopback host only; for local development",
        ));
        return Origin::Demo;
    }
    if raw == "route" {
        return Origin::Route;
    }
    match validate_origin_url(raw) {
        Ok(url) => Origin::Url(url),
        Err(why) => {
            // A deployed worker must never fall back to the demo site: route mode forwards
            // to whatever origin sits behind the route, which is what production means.
            problems.push(error(
                "ORIGIN_URL",
                format!("{why}; expected http(s)://host[:port], \"route\" or \"demo\". Forwarding to the route's origin instead"),
            ));
            Origin::Route
        }
    }
}

fn validate_origin_url(raw: &str) -> Result<String, &'static str> {
    let rest = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .ok_or("not an http(s) URL")?;
    let host = rest.strip_suffix('/').unwrap_or(rest);
    if host.is_empty() {
        return Err("no host");
    }
    if host.contains(['/', '?', '#', '@', ' ']) {
        return Err("a path, query, fragment or credentials are not allowed");
    }
    Ok(raw.strip_suffix('/').unwrap_or(raw).to_owned())
}

fn parse_tag_id(
    setting: &'static str,
    prefix: &str,
    raw: Option<String>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<String> {
    let raw = non_empty(raw)?;
    let ok = raw
        .strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok {
        Some(raw)
    } else {
        problems.push(error(
            setting,
            format!("must look like {prefix}XXXXXXX (letters and digits); the tag stays off"),
        ));
        None
    }
}

fn parse_policy_version(raw: Option<String>, problems: &mut Vec<ConfigProblem>) -> String {
    let Some(raw) = non_empty(raw) else {
        return DEFAULT_POLICY_VERSION.to_owned();
    };
    // The version travels inside the cookie and the records: keep it short and plain.
    let ok = raw.len() <= 32
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        raw
    } else {
        problems.push(error(
            "POLICY_VERSION",
            format!("must be 1-32 of A-Z a-z 0-9 . - _; using \"{DEFAULT_POLICY_VERSION}\""),
        ));
        DEFAULT_POLICY_VERSION.to_owned()
    }
}

fn parse_days(
    setting: &'static str,
    raw: Option<String>,
    default: u32,
    max: u32,
    problems: &mut Vec<ConfigProblem>,
) -> u32 {
    let Some(raw) = non_empty(raw) else {
        return default;
    };
    match raw.parse::<u32>() {
        Ok(days) if (1..=max).contains(&days) => days,
        _ => {
            problems.push(error(
                setting,
                format!("must be a whole number of days from 1 to {max}; using {default}"),
            ));
            default
        }
    }
}

fn parse_signing_key(
    raw: Option<String>,
    dev: bool,
    problems: &mut Vec<ConfigProblem>,
) -> Option<SecretBytes> {
    const SETTING: &str = "CONSENT_SIGNING_KEY";
    match non_empty(raw) {
        Some(key) if !dev && key.as_bytes() == DEV_SIGNING_KEY => {
            problems.push(error(SETTING, "is the development key, which is published in the source: generate one (README, Configuration); consent cannot be recorded"));
            None
        }
        Some(key) if key.len() >= 32 => Some(SecretBytes(key.into_bytes())),
        Some(_) => {
            problems.push(error(SETTING, "too short: use at least 32 characters (for instance `openssl rand -base64 32`); consent cannot be recorded"));
            None
        }
        None if dev => {
            problems.push(warning(SETTING, "not set: using the development key"));
            Some(SecretBytes(DEV_SIGNING_KEY.to_vec()))
        }
        None => {
            problems.push(error(SETTING, "not set: run `wrangler secret put CONSENT_SIGNING_KEY`; consent cannot be recorded"));
            None
        }
    }
}

fn parse_record_key(
    raw: Option<String>,
    dev: bool,
    problems: &mut Vec<ConfigProblem>,
) -> Option<SecretBytes> {
    const SETTING: &str = "RECORD_ENCRYPTION_KEY";
    match non_empty(raw) {
        Some(key) => match base64::engine::general_purpose::STANDARD.decode(key.as_bytes()) {
            Ok(bytes) if !dev && bytes == DEV_RECORD_KEY => {
                problems.push(error(SETTING, "is the development key, which is published in the source: generate one (README, Configuration); consent cannot be recorded"));
                None
            }
            Ok(bytes) if bytes.len() == 32 => Some(SecretBytes(bytes)),
            _ => {
                problems.push(error(SETTING, "must be 32 bytes in base64 (`openssl rand -base64 32`); consent cannot be recorded"));
                None
            }
        },
        None if dev => {
            problems.push(warning(SETTING, "not set: using the development key"));
            Some(SecretBytes(DEV_RECORD_KEY.to_vec()))
        }
        None => {
            problems.push(error(SETTING, "not set: run `wrangler secret put RECORD_ENCRYPTION_KEY`; consent cannot be recorded"));
            None
        }
    }
}

/// `RECORD_ENCRYPTION_KEY`, `RECORD_ENCRYPTION_KEY_PREVIOUS` and `AUDIT_LOG_KEY`, which must
/// be neither of the others.
fn parse_keys(
    secret: &impl Fn(&str) -> Option<String>,
    dev: bool,
    problems: &mut Vec<ConfigProblem>,
) -> (
    Option<SecretBytes>,
    Option<SecretBytes>,
    Option<SecretBytes>,
) {
    let record_key = parse_record_key(secret("RECORD_ENCRYPTION_KEY"), dev, problems);
    let previous = parse_previous_record_key(
        secret("RECORD_ENCRYPTION_KEY_PREVIOUS"),
        record_key.as_ref(),
        problems,
    );
    let audit_key = parse_audit_key(
        secret("AUDIT_LOG_KEY"),
        dev,
        [record_key.as_ref(), previous.as_ref()],
        problems,
    );
    (record_key, previous, audit_key)
}

/// `RECORD_ENCRYPTION_KEY_PREVIOUS`: optional, the current key's format. Malformed: an error,
/// and ignored (records sealed under it are listed unreadable). The current key again: a
/// warning (it opens nothing the current key does not).
fn parse_previous_record_key(
    raw: Option<String>,
    current: Option<&SecretBytes>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<SecretBytes> {
    const SETTING: &str = "RECORD_ENCRYPTION_KEY_PREVIOUS";
    let key = non_empty(raw)?;
    match base64::engine::general_purpose::STANDARD.decode(key.as_bytes()) {
        Ok(bytes) if bytes.len() == 32 => {
            if current.is_some_and(|c| c.expose() == bytes.as_slice()) {
                problems.push(warning(
                    SETTING,
                    "the same as RECORD_ENCRYPTION_KEY: set it to the key before the current one",
                ));
            }
            Some(SecretBytes(bytes))
        }
        _ => {
            problems.push(error(SETTING, "must be 32 bytes in base64, like RECORD_ENCRYPTION_KEY; ignored: records sealed under the previous key are listed as unreadable"));
            None
        }
    }
}

/// `AUDIT_LOG_KEY`: required in production, its own. A record key (current or previous) in its
/// place is refused: whoever holds that one could rebuild the chain.
fn parse_audit_key(
    raw: Option<String>,
    dev: bool,
    record_keys: [Option<&SecretBytes>; 2],
    problems: &mut Vec<ConfigProblem>,
) -> Option<SecretBytes> {
    const SETTING: &str = "AUDIT_LOG_KEY";
    const OFF: &str = "the dashboard's audited actions (exports, record look-ups, reading the audit log) are refused";
    match non_empty(raw) {
        Some(key) => match base64::engine::general_purpose::STANDARD.decode(key.as_bytes()) {
            Ok(bytes) if !dev && bytes == DEV_AUDIT_KEY => {
                problems.push(error(SETTING, format!("is the development key, which is published in the source: generate one (README, Configuration); {OFF}")));
                None
            }
            Ok(bytes)
                if record_keys
                    .iter()
                    .flatten()
                    .any(|r| r.expose() == bytes.as_slice()) =>
            {
                problems.push(error(SETTING, format!("must not be a record key (RECORD_ENCRYPTION_KEY or RECORD_ENCRYPTION_KEY_PREVIOUS): whoever holds that one could rebuild the chain; use its own (`openssl rand -base64 32`); {OFF}")));
                None
            }
            Ok(bytes) if bytes.len() == 32 => Some(SecretBytes(bytes)),
            _ => {
                problems.push(error(
                    SETTING,
                    format!("must be 32 bytes in base64 (`openssl rand -base64 32`); {OFF}"),
                ));
                None
            }
        },
        None if dev => {
            problems.push(warning(SETTING, "not set: using the development key"));
            Some(SecretBytes(DEV_AUDIT_KEY.to_vec()))
        }
        None => {
            problems.push(error(
                SETTING,
                format!("not set: run `wrangler secret put AUDIT_LOG_KEY`; {OFF}"),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY32: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes
    const SIGN: &str = "a-signing-key-of-at-least-32-characters!";
    const AUDIT32: &str = "YXVkaXQgbG9nIGtleSBvZiB0aGVzZSB0ZXN0cyAzMmI="; // 32 bytes

    fn parse(vars: &[(&str, &str)], secrets: &[(&str, &str)]) -> Config {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        let secrets: HashMap<String, String> = secrets
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        parse_config(|k| vars.get(k).cloned(), |k| secrets.get(k).cloned())
    }

    fn settings_with_problems(c: &Config) -> Vec<&'static str> {
        c.problems.iter().map(|p| p.setting).collect()
    }

    #[test]
    fn a_configuration_without_an_origin_is_never_the_demo() {
        for vars in [
            &[][..],
            &[("ORIGIN_URL", "")][..],
            &[("ORIGIN_URL", "  ")][..],
        ] {
            let c = parse(vars, &[]);
            assert_eq!(c.origin, Origin::Unset, "{vars:?}");
            assert!(
                c.signing_key.is_none() && c.record_key.is_none(),
                "no development keys"
            );
            assert!(!c.origin.serves("127.0.0.1:8787") && !c.origin.serves("sivocenter.com"));
            let p = &c.problems[0];
            assert_eq!((p.setting, p.severity), ("ORIGIN_URL", Severity::Error));
            let health = c.health(&facts(true));
            assert_eq!(health["status"], "degraded", "{health}");
            assert_eq!(health["origin"], "unset");
        }
    }

    #[test]
    fn the_demo_serves_and_is_healthy_only_on_a_loopback_host() {
        let c = parse(&[("ORIGIN_URL", "demo")], &[]);
        assert_eq!(c.origin, Origin::Demo);
        assert!(c.origin.serves("localhost:8787") && c.origin.serves("[::1]"));
        assert!(!c.origin.serves("sivocenter.com") && !c.origin.serves("192.168.1.2:8787"));
        assert_eq!(c.health(&facts(true))["status"], "ok");
        let off = c.health(&facts(false));
        assert_eq!(off["status"], "degraded", "{off}");
        assert!(off["degraded_because"][0]
            .as_str()
            .unwrap()
            .contains("loopback"));
        assert!(Origin::Route.serves("sivocenter.com"));
    }

    #[test]
    fn health_is_degraded_when_the_schema_is_behind_or_unreadable_and_names_the_build() {
        let c = parse(
            &[("ORIGIN_URL", "route")],
            &[
                ("CONSENT_SIGNING_KEY", SIGN),
                ("RECORD_ENCRYPTION_KEY", KEY32),
                ("AUDIT_LOG_KEY", AUDIT32),
            ],
        );
        let mut f = facts(false);
        assert_eq!(c.health(&f)["status"], "ok");
        assert_eq!(c.health(&f)["version"]["commit"], "0123abcd");
        for schema in [
            SchemaState::Behind(None),
            SchemaState::Behind(Some("0001_x.sql".into())),
            SchemaState::Unavailable,
        ] {
            f.schema = schema.clone();
            let h = c.health(&f);
            assert_eq!(h["status"], "degraded", "{schema:?}: {h}");
        }
    }

    #[test]
    fn a_deployed_worker_refuses_the_development_keys_as_secrets() {
        let dev_record = base64::engine::general_purpose::STANDARD.encode(DEV_RECORD_KEY);
        let dev_signing = String::from_utf8_lossy(DEV_SIGNING_KEY).into_owned();
        let dev_audit = base64::engine::general_purpose::STANDARD.encode(DEV_AUDIT_KEY);
        let c = parse(
            &[("ORIGIN_URL", "route")],
            &[
                ("CONSENT_SIGNING_KEY", &dev_signing),
                ("RECORD_ENCRYPTION_KEY", &dev_record),
                ("AUDIT_LOG_KEY", &dev_audit),
            ],
        );
        assert!(c.signing_key.is_none() && c.record_key.is_none() && c.audit_key.is_none());
        assert_eq!(
            settings_with_problems(&c),
            [
                "CONSENT_SIGNING_KEY",
                "RECORD_ENCRYPTION_KEY",
                "AUDIT_LOG_KEY"
            ]
        );
        assert_eq!(c.health(&facts(false))["status"], "degraded");
        // Locally, with the demo, they are what it runs on anyway.
        let local = parse(
            &[("ORIGIN_URL", "demo")],
            &[("CONSENT_SIGNING_KEY", &dev_signing)],
        );
        assert!(local.signing_key.is_some());
    }

    #[test]
    fn alerts_are_off_without_a_webhook_and_their_settings_are_bounded() {
        let c = parse(&[("ORIGIN_URL", "route")], &[]);
        assert!(c.alert_webhook.is_none());
        assert!(c.health(&facts(false))["alerts"]
            .as_str()
            .unwrap()
            .starts_with("off"));
        let hook = "https://hooks.slack.com/services/T0/B0/secret-token";
        let c = parse(
            &[
                ("ORIGIN_URL", "route"),
                ("ALERT_COVERAGE_DROP_POINTS", "5"),
                ("ALERT_SILENCE_HOURS", "0"),
            ],
            &[("ALERT_WEBHOOK_URL", hook)],
        );
        assert_eq!(c.health(&facts(false))["alerts"], "on");
        assert_eq!(
            (c.alerts.coverage_drop_points, c.alerts.silence_hours),
            (5, 0)
        );
        assert!(!format!("{c:?} {}", c.health(&facts(false))).contains("secret-token"));
        let c = parse(
            &[
                ("ALERT_COVERAGE_DROP_POINTS", "0"),
                ("ALERT_SILENCE_HOURS", "x"),
            ],
            &[("ALERT_WEBHOOK_URL", "http://hooks.example.com/x")],
        );
        assert!(
            c.alert_webhook.is_none(),
            "plain http is refused off loopback"
        );
        assert_eq!(
            (c.alerts.coverage_drop_points, c.alerts.silence_hours),
            (10, 6)
        );
        let named: Vec<_> = settings_with_problems(&c)
            .into_iter()
            .filter(|s| s.starts_with("ALERT"))
            .collect();
        assert_eq!(
            named,
            [
                "ALERT_WEBHOOK_URL",
                "ALERT_COVERAGE_DROP_POINTS",
                "ALERT_SILENCE_HOURS"
            ]
        );
    }

    fn facts(loopback: bool) -> HealthFacts<'static> {
        HealthFacts {
            loopback,
            schema: SchemaState::Current,
            commit: Some("0123abcd"),
            built_at: Some("2026-12-07T05:00:00Z"),
        }
    }

    #[test]
    fn the_demo_configuration_has_development_keys() {
        let c = parse(&[("ORIGIN_URL", "demo")], &[]);
        assert_eq!(c.origin, Origin::Demo);
        assert_eq!(c.policy_version, "1");
        assert_eq!(c.consent_max_age_days, 365);
        assert_eq!(c.record_retention_days, 1460);
        assert!(c.signing_key.is_some() && c.record_key.is_some() && c.audit_key.is_some());
        assert!(c.problems.iter().all(|p| p.severity == Severity::Warning));
        assert_eq!(
            settings_with_problems(&c),
            [
                "ORIGIN_URL",
                "CONSENT_SIGNING_KEY",
                "RECORD_ENCRYPTION_KEY",
                "AUDIT_LOG_KEY"
            ]
        );
    }

    #[test]
    fn a_deployed_worker_never_gets_development_keys() {
        let c = parse(&[("ORIGIN_URL", "route")], &[]);
        assert_eq!(c.origin, Origin::Route);
        assert!(c.signing_key.is_none() && c.record_key.is_none() && c.audit_key.is_none());
        assert!(c.problems.iter().all(|p| p.severity == Severity::Error));
        assert_eq!(c.health(&facts(false))["status"], "degraded");
        let c = parse(&[("ORIGIN_URL", "https://origin.sivocenter.com")], &[]);
        assert!(c.signing_key.is_none() && c.record_key.is_none() && c.audit_key.is_none());
    }

    #[test]
    fn a_complete_production_configuration_has_no_problems() {
        let c = parse(
            &[
                ("ORIGIN_URL", "https://origin.sivocenter.com/"),
                ("GA4_MEASUREMENT_ID", "G-ABC123XYZ"),
                ("GTM_CONTAINER_ID", "GTM-K9P2Q7"),
                ("POLICY_VERSION", "2026-11.b"),
                ("CONSENT_MAX_AGE_DAYS", "180"),
                ("RECORD_RETENTION_DAYS", "1825"),
            ],
            &[
                ("CONSENT_SIGNING_KEY", SIGN),
                ("RECORD_ENCRYPTION_KEY", KEY32),
                ("AUDIT_LOG_KEY", AUDIT32),
            ],
        );
        assert_eq!(c.problems, []);
        assert_eq!(
            c.origin,
            Origin::Url("https://origin.sivocenter.com".into())
        );
        assert_eq!(c.ga4_measurement_id.as_deref(), Some("G-ABC123XYZ"));
        assert_eq!(c.gtm_container_id.as_deref(), Some("GTM-K9P2Q7"));
        assert_eq!(c.policy_version, "2026-11.b");
        assert_eq!(
            (c.consent_max_age_days, c.record_retention_days),
            (180, 1825)
        );
        assert_eq!(
            c.signing_key.map(|k| k.expose().to_vec()),
            Some(SIGN.as_bytes().to_vec())
        );
        assert_eq!(c.record_key.map(|k| k.expose().len()), Some(32));
        assert_eq!(
            c.audit_key.map(|k| k.expose().to_vec()),
            Some(b"audit log key of these tests 32b".to_vec())
        );
    }

    #[test]
    fn the_audit_log_key_is_its_own_and_required_in_production() {
        let production = |secrets: &[(&str, &str)]| parse(&[("ORIGIN_URL", "route")], secrets);
        let c = production(&[
            ("RECORD_ENCRYPTION_KEY", KEY32),
            ("CONSENT_SIGNING_KEY", SIGN),
        ]);
        assert!(c.audit_key.is_none(), "no development key in production");
        assert_eq!(settings_with_problems(&c), ["AUDIT_LOG_KEY"]);
        assert_eq!(c.problems[0].severity, Severity::Error);
        assert_eq!(c.health(&facts(false))["status"], "degraded");
        let same = production(&[("RECORD_ENCRYPTION_KEY", KEY32), ("AUDIT_LOG_KEY", KEY32)]);
        assert!(
            same.audit_key.is_none(),
            "the record key is refused as the audit key"
        );
        let previous = production(&[
            ("RECORD_ENCRYPTION_KEY", AUDIT32),
            ("RECORD_ENCRYPTION_KEY_PREVIOUS", KEY32),
            ("AUDIT_LOG_KEY", KEY32),
        ]);
        assert!(
            previous.audit_key.is_none(),
            "so is the previous record key"
        );
        assert!(same
            .problems
            .iter()
            .any(|p| p.setting == "AUDIT_LOG_KEY" && p.message.contains("must not be")));
        for bad in ["c2hvcnQ=", "not base64!"] {
            assert!(
                production(&[("AUDIT_LOG_KEY", bad)]).audit_key.is_none(),
                "{bad}"
            );
        }
        let own = production(&[("RECORD_ENCRYPTION_KEY", KEY32), ("AUDIT_LOG_KEY", AUDIT32)]);
        assert!(own.audit_key.is_some());
        assert_ne!(
            own.audit_key.map(|k| k.expose().to_vec()),
            own.record_key.map(|k| k.expose().to_vec())
        );
    }

    #[test]
    fn the_dashboard_opens_only_with_a_whole_access_configuration() {
        let open = parse(
            &[
                ("ORIGIN_URL", "route"),
                ("ACCESS_TEAM_DOMAIN", "https://sivo.cloudflareaccess.com/"),
                ("ACCESS_AUD", "aud-tag"),
                ("STATS_FLUSH_SECONDS", "0"),
            ],
            &[],
        );
        assert!(open.dashboard.access_configured());
        assert_eq!(
            open.dashboard.team_domain.as_deref(),
            Some("https://sivo.cloudflareaccess.com")
        );
        assert_eq!(open.dashboard.stats_flush_seconds, 0);
        assert_eq!(open.health(&facts(true))["dashboard"], "access");
        for vars in [
            vec![
                ("ORIGIN_URL", "route"),
                ("ACCESS_TEAM_DOMAIN", "https://sivo.cloudflareaccess.com"),
            ],
            vec![
                ("ORIGIN_URL", "route"),
                ("ACCESS_TEAM_DOMAIN", "http://evil.example"),
                ("ACCESS_AUD", "a"),
            ],
            vec![
                ("ORIGIN_URL", "route"),
                ("ACCESS_TEAM_DOMAIN", "https://x.example/path"),
                ("ACCESS_AUD", "a"),
            ],
        ] {
            let c = parse(&vars, &[]);
            assert!(!c.dashboard.access_configured(), "{vars:?}");
            assert!(
                c.problems.iter().any(|p| p.setting.starts_with("ACCESS_")),
                "{vars:?}"
            );
            assert_eq!(c.health(&facts(true))["dashboard"], "closed");
        }
        let local = parse(
            &[
                ("ACCESS_TEAM_DOMAIN", "http://127.0.0.1:9999"),
                ("ACCESS_AUD", "a"),
            ],
            &[],
        );
        assert!(local.dashboard.access_configured(), "loopback for tests");
        assert_eq!(
            parse(&[("ORIGIN_URL", "demo")], &[]).health(&facts(true))["dashboard"],
            "development"
        );
    }

    #[test]
    fn stats_flush_seconds_fits_in_the_waituntil_of_the_request_that_opens_a_batch() {
        assert_eq!(
            parse(&[("STATS_FLUSH_SECONDS", "25")], &[])
                .dashboard
                .stats_flush_seconds,
            25,
            "the longest a request's waitUntil can wait and still write"
        );
        assert_eq!(parse(&[], &[]).dashboard.stats_flush_seconds, 20);
        for slow in ["26", "30", "9999", "-1", "twenty"] {
            let c = parse(&[("STATS_FLUSH_SECONDS", slow)], &[]);
            assert_eq!(
                c.dashboard.stats_flush_seconds, DEFAULT_STATS_FLUSH_SECONDS,
                "{slow}"
            );
            assert!(
                c.problems
                    .iter()
                    .any(|p| p.setting == "STATS_FLUSH_SECONDS" && p.message.contains("0 to 25")),
                "{slow}: {:?}",
                c.problems
            );
        }
    }

    #[test]
    fn bad_values_are_problems_with_safe_fallbacks() {
        let c = parse(
            &[
                ("ORIGIN_URL", "ftp://x"),
                ("GA4_MEASUREMENT_ID", "UA-1234-1"),
                ("GTM_CONTAINER_ID", "GTM-<script>"),
                ("POLICY_VERSION", "v1; drop"),
                ("CONSENT_MAX_AGE_DAYS", "800"),
                ("RECORD_RETENTION_DAYS", "-3"),
            ],
            &[
                ("CONSENT_SIGNING_KEY", "short"),
                ("RECORD_ENCRYPTION_KEY", "not base64!"),
                ("AUDIT_LOG_KEY", "c2hvcnQ="),
            ],
        );
        assert_eq!(
            c.origin,
            Origin::Route,
            "a bad origin never means the demo site"
        );
        assert_eq!(c.ga4_measurement_id, None);
        assert_eq!(c.gtm_container_id, None);
        assert_eq!(c.policy_version, "1");
        assert_eq!(c.consent_max_age_days, 365);
        assert_eq!(c.record_retention_days, 1460);
        assert!(c.signing_key.is_none() && c.record_key.is_none());
        assert_eq!(
            settings_with_problems(&c),
            [
                "ORIGIN_URL",
                "GA4_MEASUREMENT_ID",
                "GTM_CONTAINER_ID",
                "POLICY_VERSION",
                "CONSENT_MAX_AGE_DAYS",
                "RECORD_RETENTION_DAYS",
                "CONSENT_SIGNING_KEY",
                "RECORD_ENCRYPTION_KEY",
                "AUDIT_LOG_KEY"
            ]
        );
        assert!(c.problems.iter().all(|p| p.severity == Severity::Error));
    }

    #[test]
    fn origin_urls_are_validated() {
        for ok in [
            "http://127.0.0.1:9000",
            "https://example.com",
            "http://[::1]:8080/",
        ] {
            assert!(
                matches!(parse(&[("ORIGIN_URL", ok)], &[]).origin, Origin::Url(_)),
                "{ok}"
            );
        }
        for bad in [
            "example.com",
            "http://",
            "https://a.com/path",
            "https://u:p@a.com",
            "https://a.com?x",
        ] {
            assert_eq!(
                parse(&[("ORIGIN_URL", bad)], &[]).origin,
                Origin::Route,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_record_key_of_the_wrong_length_is_refused() {
        let c = parse(&[], &[("RECORD_ENCRYPTION_KEY", "c2hvcnQ=")]);
        assert!(c.record_key.is_none());
    }

    #[test]
    fn the_previous_record_key_is_optional_opens_only_and_a_bad_one_is_an_error_and_ignored() {
        const OLD: &str = "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleSE="; // 32 bytes
        let production = [("ORIGIN_URL", "route")];
        let secrets = |previous: &'static str| {
            [
                ("CONSENT_SIGNING_KEY", SIGN),
                ("RECORD_ENCRYPTION_KEY", KEY32),
                ("RECORD_ENCRYPTION_KEY_PREVIOUS", previous),
                ("AUDIT_LOG_KEY", AUDIT32),
            ]
        };
        let unset = parse(&production, &secrets(""));
        assert!(unset.record_key_previous.is_none() && unset.problems.is_empty());

        let rotating = parse(&production, &secrets(OLD));
        assert!(rotating.problems.is_empty(), "{:?}", rotating.problems);
        let old = base64::engine::general_purpose::STANDARD
            .decode(OLD)
            .unwrap();
        let keyring = rotating.record_keyring().unwrap();
        assert_eq!(
            keyring.current(),
            rotating.record_key.as_ref().unwrap().expose(),
            "the current key seals"
        );
        assert_eq!(
            rotating
                .record_key_previous
                .as_ref()
                .map(SecretBytes::expose),
            Some(old.as_slice())
        );
        assert!(!format!("{rotating:?}").contains(OLD));

        for bad in ["not base64!", "c2hvcnQ="] {
            let c = parse(&production, &secrets(bad));
            assert!(c.record_key_previous.is_none(), "{bad}: ignored");
            assert!(c.record_key.is_some(), "{bad}: the current key still works");
            assert_eq!(
                settings_with_problems(&c),
                ["RECORD_ENCRYPTION_KEY_PREVIOUS"]
            );
            assert_eq!(c.problems[0].severity, Severity::Error);
            assert_eq!(c.health(&facts(false))["status"], "degraded");
            assert!(!c.problems[0].message.contains(bad));
        }
        let same = parse(&production, &secrets(KEY32));
        assert_eq!(
            settings_with_problems(&same),
            ["RECORD_ENCRYPTION_KEY_PREVIOUS"]
        );
        assert_eq!(same.problems[0].severity, Severity::Warning);
        assert!(
            parse(&production, &[]).record_keyring().is_none(),
            "no current key, no keyring"
        );
    }

    #[test]
    fn problems_and_debug_output_never_show_a_secret() {
        let c = parse(
            &[("ORIGIN_URL", "route")],
            &[
                ("CONSENT_SIGNING_KEY", "tiny-secret"),
                ("RECORD_ENCRYPTION_KEY", "dG9vIHNob3J0IGtleQ=="),
                ("AUDIT_LOG_KEY", "YXVkaXQgdG9vIHNob3J0"),
            ],
        );
        let shown = format!(
            "{:?} {}",
            c,
            serde_json::to_string(&c.problems).unwrap_or_default()
        );
        assert!(!shown.contains("tiny-secret") && !shown.contains("dG9vIHNob3J0IGtleQ=="));
        assert!(!shown.contains("YXVkaXQgdG9vIHNob3J0"));
        let c = parse(&[], &[("AUDIT_LOG_KEY", AUDIT32)]);
        assert!(!format!("{c:?}").contains("audit log key of these tests"));
        let c = parse(&[], &[("CONSENT_SIGNING_KEY", SIGN)]);
        assert!(!format!("{c:?}").contains(SIGN));
    }

    #[test]
    fn max_age_is_capped_at_twelve_months() {
        assert_eq!(
            parse(&[("CONSENT_MAX_AGE_DAYS", "365")], &[]).consent_max_age_days,
            365
        );
        assert_eq!(
            parse(&[("CONSENT_MAX_AGE_DAYS", "30")], &[]).consent_max_age_days,
            30
        );
        let c = parse(&[("CONSENT_MAX_AGE_DAYS", "366")], &[]);
        assert_eq!(c.consent_max_age_days, 365);
        assert!(c
            .problems
            .iter()
            .any(|p| p.setting == "CONSENT_MAX_AGE_DAYS"));
        assert_eq!(
            parse(&[("CONSENT_MAX_AGE_DAYS", "0")], &[]).consent_max_age_days,
            365
        );
    }
}

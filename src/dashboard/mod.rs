//! The marketing dashboard under `/_consent/admin` (README, "For marketing: the consent
//! dashboard"): every request proves who it is ([`access`]), every export, look-up, read of the
//! log and refusal is appended to the audit log ([`mod@audit`]; refused anonymous requests
//! counted a minute at a time per network), and the numbers come from D1 in one batch of
//! grouped queries; page views and decisions are counted by [`stats`].

mod access;
mod audit;
pub mod stats;

pub use audit::{schedule_counted, AuditState};

use crate::failure::WorkerError;
use crate::platform::read_body;
use crate::proof::KvRecords;
use crate::respond::{html, json, own, OK};
use crate::served::Served;
use crate::visit::{Header, Visit};
use access::identify;
use consent_core::clock::rfc3339;
use consent_core::config::{Config, SecretBytes};
use consent_core::consent::request::check_declared_length;
use consent_core::consent::ConsentId;
use consent_core::dashboard::access::{Identity, Role};
use consent_core::dashboard::audit::read::PageRequest;
use consent_core::dashboard::audit::{AuditAction, AuditEvent};
use consent_core::dashboard::look_up_allowed;
use consent_core::dashboard::page::{dashboard_page, Viewer};
use consent_core::dashboard::privacy::{audit_page, consent_id_of_form, lookup_page, records_page};
use consent_core::dashboard::report::{DayRange, DecisionRow, ExcludedRow, PageViewRow, Report};
use consent_core::dashboard::stats::{
    decisions_query, page_views_query, DIMENSIONS, EXCLUDED_QUERY,
};
use consent_core::failure::Failure;
use consent_core::failure::Presentation;
use consent_core::log::{event_line, Level};
use consent_core::paths;
use consent_core::proof::records::{keys_of, open_all};
use stats::database;
use web_sys::Request;
use worker::Env;

/// What an admin route is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AdminRoute {
    Dashboard,
    StatsJson,
    StatsCsv,
    Records(ConsentId),
    /// The look-up form (`GET`) and its answer (`POST consent_id=<id>`).
    Lookup,
    Audit,
}

impl AdminRoute {
    fn of(path: &str) -> Result<Self, Failure> {
        match path {
            paths::ADMIN | "/_consent/admin/" => Ok(Self::Dashboard),
            paths::ADMIN_STATS_JSON => Ok(Self::StatsJson),
            paths::ADMIN_STATS_CSV => Ok(Self::StatsCsv),
            paths::ADMIN_AUDIT => Ok(Self::Audit),
            paths::ADMIN_RECORDS => Ok(Self::Lookup),
            _ => path
                .strip_prefix(paths::ADMIN_RECORDS_PREFIX)
                .and_then(ConsentId::parse)
                .map(Self::Records)
                .ok_or(Failure::NotFound),
        }
    }

    fn needs_admin(self) -> bool {
        matches!(self, Self::Records(_) | Self::Lookup | Self::Audit)
    }
}

/// Answers a request under `/_consent/admin`.
///
/// # Errors
/// No token (`401`), a refused one or a missing role (`403`), Access not configured
/// (`503`), D1 or KV failing (`503`), a bad date range (`400`).
pub async fn handle(
    request: &Request,
    env: &Env,
    config: &Config,
    visit: &Visit,
) -> Result<Served, WorkerError> {
    let route = AdminRoute::of(&visit.path)?;
    // The look-up form itself reads and writes nothing: only its POST is guarded.
    let guarded = match route {
        AdminRoute::Records(_) => true,
        AdminRoute::Lookup => visit.method == "POST",
        _ => false,
    };
    if matches!(route, AdminRoute::Records(_) | AdminRoute::Lookup) {
        if !matches!(visit.method.as_str(), "GET" | "HEAD" | "POST") {
            return Err(Failure::MethodNotAllowed {
                allow: "GET, HEAD, POST",
            }
            .into());
        }
        let site = visit.header(Header::SecFetchSite);
        let origin = visit.header(Header::Origin);
        if guarded
            && !look_up_allowed(
                &visit.method,
                site.as_deref(),
                origin.as_deref(),
                &visit.host,
            )
        {
            return Err(Failure::CrossSite.into());
        }
    } else if !matches!(visit.method.as_str(), "GET" | "HEAD") {
        return Err(Failure::MethodNotAllowed { allow: "GET, HEAD" }.into());
    }
    let identity = match identify(env, config, visit).await {
        Ok(identity) => identity,
        Err(refusal) => {
            return Err(refused(env, config, visit, None, &refusal.reason(), refusal.into()).await)
        }
    };
    if route.needs_admin() && identity.role != Role::Admin {
        let why = Failure::Forbidden(format!("{} is not an admin", identity.email));
        return Err(refused(env, config, visit, Some(&identity), "admin route", why).await);
    }
    match route {
        AdminRoute::Dashboard => dashboard(env, config, visit, &identity).await,
        AdminRoute::StatsJson | AdminRoute::StatsCsv => {
            export(env, config, visit, &identity, route).await
        }
        AdminRoute::Records(id) => records(env, config, visit, &identity, id).await,
        AdminRoute::Lookup if visit.method == "POST" => {
            check_declared_length(visit.header(Header::ContentLength).as_deref())
                .map_err(|_| Failure::TooLarge)?;
            let id = consent_id_of_form(&read_body(request).await?)?;
            records(env, config, visit, &identity, id).await
        }
        AdminRoute::Lookup => Ok(Served::ok(html(&lookup_page(visit.lang))?)),
        AdminRoute::Audit => audit(env, config, visit, &identity).await,
    }
}

/// Logs a refused attempt (best effort: a refusal is answered even if the log fails) and
/// returns the failure to answer with. An anonymous one is written at once if it is its
/// network's first this minute, and otherwise counted, to be written with the rest of its
/// minute as one entry (`consent_core::dashboard::audit::refusals`): a flood of them cannot
/// grow the log or hold up the appends of audited actions.
async fn refused(
    env: &Env,
    config: &Config,
    visit: &Visit,
    identity: Option<&Identity>,
    reason: &str,
    failure: Failure,
) -> WorkerError {
    let target = format!("{} ({reason})", visit.path);
    let logged = if identity.is_some() || audit::note_refusal(&visit.network(), visit.now, &target)
    {
        log_action(env, config, visit, identity, AuditAction::Refused, &target).await
    } else {
        audit::write_counted(env, config.audit_key.as_ref(), visit.now, false).await;
        Ok(())
    };
    // Best effort: a refusal is answered as what it is even when it cannot be logged.
    if let Err(e) = logged {
        let line = event_line(
            visit.now,
            Level::Error,
            "refused attempt not audited",
            serde_json::json!({ "error": e.to_string() }),
        );
        worker::console_error!("{line}");
    }
    failure.into()
}

/// The audit log's key (`AUDIT_LOG_KEY`).
///
/// # Errors
/// [`Failure::NotConfigured`] without it: no audit log, so no audited action.
fn audit_key(config: &Config) -> Result<&SecretBytes, Failure> {
    config.audit_key.as_ref().ok_or(Failure::NotConfigured(
        "audit log key missing (AUDIT_LOG_KEY)",
    ))
}

/// Appends one audit entry, after what this isolate counted in minutes that are over.
async fn log_action(
    env: &Env,
    config: &Config,
    visit: &Visit,
    identity: Option<&Identity>,
    action: AuditAction,
    target: &str,
) -> Result<(), Failure> {
    let key = audit_key(config)?;
    audit::write_counted(env, Some(key), visit.now, false).await;
    let ip = visit.network();
    let at = rfc3339(visit.now);
    let event = AuditEvent {
        at: &at,
        who: identity.map_or("anonymous", |i| i.email.as_str()),
        role: identity.map_or("none", |i| role_name(i.role)),
        action,
        target,
        ip: &ip,
        count: 1,
    };
    audit::append(env, &event, key.expose()).await.map(|_| ())
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Viewer => "viewer",
    }
}

/// The statements of one range: page views and decisions per dimension, then the pages
/// counted apart.
fn range_statements(
    db: &worker::D1Database,
    range: &DayRange,
) -> Result<Vec<worker::D1PreparedStatement>, WorkerError> {
    let bind = |sql: &str| {
        db.prepare(sql)
            .bind(&[range.from.clone().into(), range.to.clone().into()])
            .map_err(|e| Failure::Internal(e.to_string()))
    };
    let mut statements = Vec::new();
    for (column, _) in DIMENSIONS {
        statements.push(bind(&page_views_query(column))?);
        statements.push(bind(&decisions_query(column))?);
    }
    statements.push(bind(EXCLUDED_QUERY)?);
    Ok(statements)
}

/// One range's report from its statements' results, in [`range_statements`] order.
fn range_report(range: DayRange, results: &[worker::D1Result]) -> Result<Report, WorkerError> {
    let internal = |e: worker::Error| Failure::Internal(e.to_string());
    let (pairs, excluded) = results.split_at(results.len().saturating_sub(1));
    let excluded = match excluded.first() {
        Some(rows) => rows.results::<ExcludedRow>().map_err(internal)?,
        None => Vec::new(),
    };
    let (mut views, mut decisions) = (Vec::new(), Vec::new());
    for pair in pairs.chunks(2) {
        let [v, d] = pair else { continue };
        views.push(v.results::<PageViewRow>().map_err(internal)?);
        decisions.push(d.results::<DecisionRow>().map_err(internal)?);
    }
    Ok(Report::build(range, &views, &decisions).with_excluded(&excluded))
}

/// The report of the asked range and of the equally long range just before it (for the
/// comparison): eighteen grouped queries, one round trip.
async fn report(env: &Env, visit: &Visit) -> Result<Report, WorkerError> {
    let range = DayRange::from_query(&visit.search, visit.now)?;
    let previous = range.previous();
    let db = database(env)?;
    let mut statements = range_statements(&db, &range)?;
    let per_range = statements.len();
    statements.extend(range_statements(&db, &previous)?);
    let results = db
        .batch(statements)
        .await
        .map_err(|e| Failure::Unavailable(format!("statistics: {e}")))?;
    let (now, before) = results.split_at(per_range.min(results.len()));
    Ok(range_report(range, now)?.with_previous(range_report(previous, before)?))
}

async fn dashboard(
    env: &Env,
    config: &Config,
    visit: &Visit,
    identity: &Identity,
) -> Result<Served, WorkerError> {
    let report = report(env, visit).await?;
    let viewer = Viewer {
        email: &identity.email,
        role: role_name(identity.role),
        development: !config.dashboard.access_configured(),
    };
    Ok(Served::ok(html(&dashboard_page(
        visit.lang, &report, viewer,
    ))?))
}

async fn export(
    env: &Env,
    config: &Config,
    visit: &Visit,
    identity: &Identity,
    route: AdminRoute,
) -> Result<Served, WorkerError> {
    let report = report(env, visit).await?;
    let (action, content_type, body, ext) = if route == AdminRoute::StatsCsv {
        (
            AuditAction::ExportCsv,
            "text/csv; charset=utf-8",
            report.to_csv(),
            "csv",
        )
    } else {
        (
            AuditAction::ExportJson,
            "application/json; charset=utf-8",
            report.to_json().to_string(),
            "json",
        )
    };
    // No export leaves without its audit entry.
    log_action(
        env,
        config,
        visit,
        Some(identity),
        action,
        &report.range.query(),
    )
    .await?;
    let disposition = format!(
        "attachment; filename=\"sivo-consent-stats-{}-{}.{ext}\"",
        report.range.from, report.range.to
    );
    Ok(Served::ok(own(
        OK,
        content_type,
        &body,
        &[("content-disposition", &disposition)],
    )?))
}

async fn records(
    env: &Env,
    config: &Config,
    visit: &Visit,
    identity: &Identity,
    id: ConsentId,
) -> Result<Served, WorkerError> {
    let keyring = config
        .record_keyring()
        .ok_or(Failure::NotConfigured("record key missing"))?;
    // No look-up without its audit entry.
    log_action(
        env,
        config,
        visit,
        Some(identity),
        AuditAction::RecordsLookup,
        &id.to_string(),
    )
    .await?;
    let store = KvRecords::bind(env);
    let keys = keys_of(&store, id, &[])
        .await
        .map_err(|e| Failure::Unavailable(e.0))?;
    // Opened under the current or the previous key; one under a key no longer held is
    // listed as unreadable with its date.
    let records = open_all(&store, &keys, &keyring)
        .await
        .map_err(|e| Failure::Unavailable(e.0))?;
    let body = serde_json::json!({ "consent_id": id, "records": records });
    if wants_download(&visit.search) {
        // Exactly what the visitor's own download (`GET /_consent/records`) gives.
        let disposition = format!("attachment; filename=\"sivo-consent-{id}.json\"");
        return Ok(Served::ok(json(
            &body.to_string(),
            &[("content-disposition", &disposition)],
        )?));
    }
    if wants_page(visit) {
        return Ok(Served::ok(html(&records_page(visit.lang, &body))?));
    }
    Ok(Served::ok(json(&body.to_string(), &[])?))
}

/// A page of the audit log (`?before=<seq>&limit=<n>`), newest first, with the chain's state
/// as this read found it (`consent_core::dashboard::audit::read`). What this isolate counted is
/// written first and the read itself is logged, so both are on the first page.
async fn audit(
    env: &Env,
    config: &Config,
    visit: &Visit,
    identity: &Identity,
) -> Result<Served, WorkerError> {
    let page = PageRequest::from_query(&visit.search)?;
    let key = audit_key(config)?;
    audit::write_counted(env, Some(key), visit.now, true).await;
    let target = page.target(paths::ADMIN_AUDIT);
    log_action(
        env,
        config,
        visit,
        Some(identity),
        AuditAction::AuditRead,
        &target,
    )
    .await?;
    let body = audit::read(env, &page, key.expose()).await?;
    if wants_page(visit) {
        return Ok(Served::ok(html(&audit_page(visit.lang, &body))?));
    }
    Ok(Served::ok(json(&body.to_string(), &[])?))
}

/// A page for a browser (`Accept` naming `text/html`); JSON, as always, for anything else.
fn wants_page(visit: &Visit) -> bool {
    Presentation::for_request(visit.header(Header::Accept).as_deref(), true) == Presentation::Page
}

/// `?download`: the records as the visitor's own download file.
fn wants_download(search: &str) -> bool {
    search
        .trim_start_matches('?')
        .split('&')
        .any(|p| p == "download" || p.starts_with("download="))
}

//! The Cron Trigger's run (`wrangler.toml` `[triggers]`, every hour): the daily summary and
//! the alerts of `consent_core::dashboard::alerts`, posted to `ALERT_WEBHOOK_URL`. What was
//! posted is kept in KV (`alerts:state`), so each message goes once; a message the webhook
//! did not take is logged and tried again on the next run. No webhook: nothing is posted.

use crate::config::config;
use crate::dashboard::stats::database;
use crate::failure::describe;
use crate::proof::KV_BINDING;
use consent_core::clock::{day, parse_day, DAY_MS};
use consent_core::dashboard::alerts::{
    daily_summary, run_alerts, summary_due, webhook_body, Activity, AlertState, Figures, Post,
    StateChange, BASELINE_DAYS,
};
use consent_core::dashboard::report::{DayRange, DecisionRow, PageViewRow, Report};
use consent_core::dashboard::stats::{
    decisions_query, page_views_query, ACTIVITY_QUERY, ALERT_STATE_KEY, STATS_FAILED_KEY,
};
use consent_core::failure::Failure;
use consent_core::log::{event_line, Level};
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;
use worker::Env;

#[wasm_bindgen]
extern "C" {
    /// The runtime's `fetch`, for the webhook.
    #[wasm_bindgen(js_name = fetch, catch)]
    fn fetch_with(url: &str, init: &Object) -> Result<Promise, JsValue>;

    type AbortSignal;
    /// A signal that aborts after `ms`.
    #[wasm_bindgen(static_method_of = AbortSignal, js_name = timeout, catch)]
    fn timeout(ms: f64) -> Result<JsValue, JsValue>;
}

/// How long a post may take before it counts as unreachable (and is tried on the next run):
/// a webhook that never answers does not hold the run until the runtime ends it.
const WEBHOOK_TIMEOUT_MS: f64 = 10_000.0;

/// One scheduled run at `now` (ms).
pub async fn run(env: &Env, now: u64) {
    let config = config(env, now);
    let Some(webhook) = config
        .alert_webhook
        .as_ref()
        .and_then(|w| String::from_utf8(w.expose().to_vec()).ok())
    else {
        log(
            now,
            Level::Info,
            "alerts off: ALERT_WEBHOOK_URL is not set",
            None,
        );
        return;
    };
    let mut state = read_state(env).await;
    let mut posts = Vec::new();
    if let Some(last_day) = summary_due(now, &state) {
        match summary(env, &last_day, &config.alerts).await {
            Ok(post) => posts.push(post),
            Err(e) => log(
                now,
                Level::Error,
                "daily summary not computed",
                Some(&e.to_string()),
            ),
        }
    }
    let activity = activity(env, now).await;
    posts.extend(run_alerts(now, &activity, &state, &config.alerts));
    for post in posts {
        match send(&webhook, &post.text).await {
            Ok(()) => {
                state.apply(&post.then);
                log(now, Level::Info, "posted to the alert webhook", post.alert);
            }
            Err(e) => {
                // Unsent: the state does not change, so the next run tries again. The URL is
                // the webhook's credential: never in a log line, even inside a runtime error.
                let e = e.replace(webhook.as_str(), "ALERT_WEBHOOK_URL");
                log(
                    now,
                    Level::Error,
                    "alert webhook unreachable; retried next run",
                    Some(&e),
                );
                break;
            }
        }
    }
    if let Err(e) = write_state(env, &state).await {
        log(now, Level::Error, "alert state not kept", Some(&e));
    }
}

async fn summary(
    env: &Env,
    last_day: &str,
    settings: &consent_core::dashboard::alerts::AlertSettings,
) -> Result<Post, Failure> {
    let last_ms = parse_day(last_day).ok_or_else(|| Failure::Internal("bad day".into()))?;
    let range = DayRange {
        from: day(last_ms.saturating_sub(BASELINE_DAYS * DAY_MS)),
        to: last_day.to_owned(),
    };
    let report = by_day(env, range).await?;
    let days: Vec<Figures> = report
        .breakdowns
        .first()
        .map(|(_, groups)| groups.values().map(Figures::of).collect())
        .unwrap_or_default();
    let (last, before) = days
        .split_last()
        .ok_or_else(|| Failure::Internal("no day".into()))?;
    let (text, alert) = daily_summary(last_day, last, before, settings);
    Ok(Post {
        text,
        alert: alert.map(|a| a.kind()),
        then: StateChange::Summary(last_day.to_owned()),
    })
}

/// Page views and decisions of `range`, by day.
async fn by_day(env: &Env, range: DayRange) -> Result<Report, Failure> {
    let db = database(env)?;
    let bind = |sql: String| {
        db.prepare(sql)
            .bind(&[range.from.clone().into(), range.to.clone().into()])
            .map_err(|e| Failure::Internal(e.to_string()))
    };
    let statements = vec![
        bind(page_views_query("day"))?,
        bind(decisions_query("day"))?,
    ];
    let results = db
        .batch(statements)
        .await
        .map_err(|e| Failure::Unavailable(format!("statistics: {e}")))?;
    let [views, decisions] = results.as_slice() else {
        return Err(Failure::Internal("two results expected".into()));
    };
    let views = views
        .results::<PageViewRow>()
        .map_err(|e| Failure::Internal(e.to_string()))?;
    let decisions = decisions
        .results::<DecisionRow>()
        .map_err(|e| Failure::Internal(e.to_string()))?;
    Ok(Report::build(range, &[views], &[decisions]))
}

#[derive(serde::Deserialize)]
struct ActivityRow {
    kind: String,
    at: f64,
}

/// The banner's activity (D1) and the last statistics failure (KV). With D1 down the
/// silence check has nothing to go on, but the failure alert still goes out.
async fn activity(env: &Env, now: u64) -> Activity {
    let rows = match database(env) {
        Ok(db) => db
            .prepare(ACTIVITY_QUERY)
            .all()
            .await
            .and_then(|r| r.results::<ActivityRow>())
            .map_err(|e| Failure::Unavailable(format!("activity: {e}"))),
        Err(e) => Err(e),
    }
    .unwrap_or_else(|e| {
        log(
            now,
            Level::Error,
            "banner activity not read",
            Some(&e.to_string()),
        );
        Vec::new()
    });
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // ms since the epoch
    let at = |kind: &str| rows.iter().find(|r| r.kind == kind).map(|r| r.at as u64);
    let stats_failed_at = match env.kv(KV_BINDING) {
        Ok(kv) => kv
            .get(STATS_FAILED_KEY)
            .text()
            .await
            .ok()
            .flatten()
            .and_then(|t| t.parse().ok()),
        Err(_) => None,
    };
    Activity {
        banner_at: at("banner"),
        decision_at: at("decision"),
        stats_failed_at,
    }
}

async fn read_state(env: &Env) -> AlertState {
    let Ok(kv) = env.kv(KV_BINDING) else {
        return AlertState::default();
    };
    kv.get(ALERT_STATE_KEY)
        .text()
        .await
        .ok()
        .flatten()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

async fn write_state(env: &Env, state: &AlertState) -> Result<(), String> {
    let kv = env.kv(KV_BINDING).map_err(|e| e.to_string())?;
    let value = serde_json::to_string(state).map_err(|e| e.to_string())?;
    kv.put(ALERT_STATE_KEY, value)
        .map_err(|e| e.to_string())?
        .execute()
        .await
        .map_err(|e| e.to_string())
}

/// POSTs `text` to the webhook; anything but a 2xx is a failure.
async fn send(webhook: &str, text: &str) -> Result<(), String> {
    let init = Object::new();
    let set = |k: &str, v: &JsValue| Reflect::set(&init, &k.into(), v).map(|_| ());
    let headers = Object::new();
    Reflect::set(&headers, &"content-type".into(), &"application/json".into())
        .map_err(|e| describe(&e))?;
    set("method", &"POST".into()).map_err(|e| describe(&e))?;
    set("headers", &headers).map_err(|e| describe(&e))?;
    set("body", &webhook_body(text).into()).map_err(|e| describe(&e))?;
    set(
        "signal",
        &AbortSignal::timeout(WEBHOOK_TIMEOUT_MS).map_err(|e| describe(&e))?,
    )
    .map_err(|e| describe(&e))?;
    let response: Response = async {
        JsFuture::from(fetch_with(webhook, &init)?)
            .await?
            .dyn_into::<Response>()
    }
    .await
    .map_err(|e| describe(&e))?;
    if (200..300).contains(&response.status()) {
        Ok(())
    } else {
        Err(format!("the webhook answered {}", response.status()))
    }
}

fn log(now: u64, level: Level, msg: &str, detail: Option<&str>) {
    let fields = match detail {
        Some(d) => serde_json::json!({ "detail": d }),
        None => serde_json::json!({}),
    };
    let line = event_line(now, level, msg, fields);
    match level {
        Level::Error => worker::console_error!("{line}"),
        Level::Info | Level::Warn => worker::console_log!("{line}"),
    }
}

//! Counting page views and decisions into D1 without costing a page view anything: page
//! views (and the pages that are not, `consent_core::dashboard::stats::classify`) are summed
//! in the isolate (`PageViewTally`); the request that finds no batch open opens one and,
//! through its own `ctx.waitUntil`, waits `STATS_FLUSH_SECONDS` after its response and writes
//! everything counted by then as one batch, so every count reaches D1 within that time whether
//! or not more traffic follows. A failed write is logged and its counts go with the next batch.
//! A decision is one upsert, also after the response. Statistics never slow or break a page.

use crate::isolate;
use crate::visit::{Header, Visit};
use consent_core::clock::day;
use consent_core::config::Config;
use consent_core::dashboard::stats::{
    classify, page_view, page_view_params, Batch, Counted, DecisionCount, Flush, PageViewKind,
    ACTIVITY_UPSERT, DECISIONS_UPSERT, EXCLUDED_UPSERT, PAGE_VIEWS_UPSERT, STATS_FAILED_KEY,
};
use consent_core::failure::Failure;
use consent_core::log::{event_line, Level};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use worker::d1::D1Database;
use worker::{Context, Env};

/// The D1 binding's name (`wrangler.toml`).
pub const DB_BINDING: &str = "CONSENT_DB";

/// What an answer adds to the statistics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Tally {
    /// Nothing (the worker's own routes, non-HTML, errors).
    #[default]
    Nothing,
    /// A rewritten HTML page: a page view if [`classify`] says so.
    PageView,
    /// A recorded decision.
    Decision(DecisionCount),
}

/// Counts what `tally` says of an answer with `status`, finished at `now`, and schedules its
/// write when this request is the one to.
pub fn count(
    tally: Tally,
    status: u16,
    now: u64,
    visit: &Visit,
    config: &Config,
    env: &Env,
    ctx: &Context,
) {
    match tally {
        Tally::Nothing => {}
        Tally::PageView => {
            let kind = classify(
                &visit.method,
                status,
                visit.header(Header::SecPurpose).as_deref(),
                visit.header(Header::Purpose).as_deref(),
                || isolate::is_bot(visit.user_agent.as_deref()),
            );
            let counted = match kind {
                PageViewKind::Nothing => return,
                PageViewKind::Excluded(why) => Counted::Excluded(day(visit.now), why),
                PageViewKind::View => Counted::View(page_view(
                    visit.now,
                    visit.consent.log_label(),
                    visit.country.as_deref(),
                    visit.lang,
                    visit.user_agent.as_deref(),
                )),
            };
            let flush = isolate::with(|i| {
                i.page_views
                    .borrow_mut()
                    .count(counted, now, config.dashboard.stats_flush_seconds)
            });
            match flush {
                Flush::Joined => {}
                Flush::Now(batch) => {
                    let env = env.clone();
                    ctx.wait_until(async move { flush_batch(&env, batch).await });
                }
                Flush::After(seconds) => {
                    let env = env.clone();
                    ctx.wait_until(async move {
                        // A timer the runtime refuses: write at once rather than never.
                        let _ = sleep(seconds.saturating_mul(1000)).await;
                        let batch = isolate::with(|i| i.page_views.borrow_mut().take());
                        flush_batch(&env, batch).await;
                    });
                }
            }
        }
        Tally::Decision(decision) => {
            let env = env.clone();
            let now = visit.now;
            ctx.wait_until(async move {
                if let Err(e) = write_decision(&env, &decision, now).await {
                    log_failure(&env, now, "decision count not written", &e).await;
                }
            });
        }
    }
}

/// Writes one batch; on failure logs it and puts its counts back, to go with the next batch
/// (the open one, or the one the next count opens).
async fn flush_batch(env: &Env, batch: Batch) {
    if batch.is_empty() {
        return;
    }
    // The time of the write: the banner was last shown at most STATS_FLUSH_SECONDS before.
    let now = crate::platform::now_ms();
    if let Err(e) = write_page_views(env, &batch, now).await {
        log_failure(
            env,
            now,
            "page views not written; kept for the next flush",
            &e,
        )
        .await;
        isolate::with(|i| i.page_views.borrow_mut().restore(batch));
    }
}

#[wasm_bindgen]
extern "C" {
    /// The runtime's `setTimeout` (a global in Workers; `catch`: a refusal is an error, not a
    /// trap).
    #[wasm_bindgen(js_name = setTimeout, catch)]
    fn set_timeout(handler: &js_sys::Function, ms: u32) -> Result<JsValue, JsValue>;
}

/// Waits `ms` milliseconds: a promise the runtime's timer resolves (no Rust closure kept
/// alive across the wait).
async fn sleep(ms: u32) -> Result<(), JsValue> {
    let mut refused = None;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Err(e) = set_timeout(&resolve, ms) {
            refused = Some(e);
        }
    });
    if let Some(e) = refused {
        return Err(e);
    }
    JsFuture::from(promise).await.map(|_| ())
}

/// The statistics and audit log's database.
///
/// # Errors
/// [`Failure::Unavailable`] when the binding is missing.
pub fn database(env: &Env) -> Result<D1Database, Failure> {
    env.d1(DB_BINDING)
        .map_err(|e| Failure::Unavailable(format!("D1 binding {DB_BINDING} unavailable: {e}")))
}

/// A D1 call that failed, for the log.
pub fn d1_failed(e: &worker::Error) -> Failure {
    Failure::Unavailable(format!("D1: {e}"))
}

async fn write_page_views(env: &Env, batch: &Batch, now: u64) -> Result<(), Failure> {
    let db = database(env)?;
    let mut statements = Vec::with_capacity(batch.views.len() + batch.excluded.len() + 1);
    if batch
        .views
        .iter()
        .any(|(view, _)| view.consent == "undecided")
    {
        statements.push(activity(&db, "banner", now)?);
    }
    for (view, n) in &batch.views {
        let (day, consent, country, lang, device, views) = page_view_params(view, *n);
        #[allow(clippy::cast_precision_loss)] // a count far below 2^53
        let views = views as f64;
        let statement = db
            .prepare(PAGE_VIEWS_UPSERT)
            .bind(&[
                day.into(),
                consent.into(),
                country.into(),
                lang.into(),
                device.into(),
                JsValue::from_f64(views),
            ])
            .map_err(|e| d1_failed(&e))?;
        statements.push(statement);
    }
    for (day, why, n) in &batch.excluded {
        #[allow(clippy::cast_precision_loss)] // a count far below 2^53
        let views = *n as f64;
        let statement = db
            .prepare(EXCLUDED_UPSERT)
            .bind(&[
                day.as_str().into(),
                why.as_str().into(),
                JsValue::from_f64(views),
            ])
            .map_err(|e| d1_failed(&e))?;
        statements.push(statement);
    }
    // One round trip for every row of the flush.
    db.batch(statements)
        .await
        .map(|_| ())
        .map_err(|e| d1_failed(&e))
}

/// The statement recording that the banner was shown or answered at `now`.
fn activity(
    db: &D1Database,
    kind: &str,
    now: u64,
) -> Result<worker::d1::D1PreparedStatement, Failure> {
    #[allow(clippy::cast_precision_loss)] // ms since the epoch, far below 2^53
    let at = JsValue::from_f64(now as f64);
    db.prepare(ACTIVITY_UPSERT)
        .bind(&[kind.into(), at])
        .map_err(|e| d1_failed(&e))
}

async fn write_decision(env: &Env, d: &DecisionCount, now: u64) -> Result<(), Failure> {
    let db = database(env)?;
    let count = db
        .prepare(DECISIONS_UPSERT)
        .bind(&[
            d.day.clone().into(),
            d.method_name().into(),
            JsValue::from(u8::from(d.choices.analytics)),
            JsValue::from(u8::from(d.choices.marketing)),
            JsValue::from(u8::from(d.gpc)),
            d.country.clone().into(),
            d.lang.tag().into(),
            d.device.as_str().into(),
        ])
        .map_err(|e| d1_failed(&e))?;
    let mut statements = vec![count];
    if d.from_banner() {
        statements.push(activity(&db, "decision", now)?);
    }
    db.batch(statements)
        .await
        .map(|_| ())
        .map_err(|e| d1_failed(&e))
}

/// Logs a failed statistics write and notes its time in KV for the hourly alert
/// (`crate::alerts`); a failure to note it is logged too, and nothing more.
async fn log_failure(env: &Env, now: u64, msg: &str, error: &Failure) {
    let line = event_line(
        now,
        Level::Error,
        msg,
        serde_json::json!({ "error": error.to_string() }),
    );
    worker::console_error!("{line}");
    let noted = match env.kv(crate::proof::KV_BINDING) {
        Ok(kv) => match kv.put(STATS_FAILED_KEY, now.to_string()) {
            Ok(put) => put.execute().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = noted {
        let line = event_line(
            now,
            Level::Error,
            "statistics failure not noted for the alerts",
            serde_json::json!({ "error": e }),
        );
        worker::console_error!("{line}");
    }
}

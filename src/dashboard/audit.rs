//! The dashboard's audit log in D1 (`consent_core::dashboard::audit`): appended one entry at a
//! time per isolate, each with the hash of the entry before it, the chain's head kept in KV
//! (`audit:head`) after each append; read a page at a time and judged by the domain
//! (`consent_core::dashboard::audit::read`). Refused anonymous requests are counted per isolate
//! (`consent_core::dashboard::audit::refusals`) and written as one entry a minute per network.

use crate::dashboard::stats::{d1_failed, database};
use crate::isolate;
use crate::platform::{now_ms, random_bytes};
use crate::proof::KV_BINDING;
use consent_core::clock::rfc3339;
use consent_core::config::SecretBytes;
use consent_core::dashboard::audit::read::{
    answer, judge, Found, Gap, HeadRead, PageRequest, Shape, AUDIT_FIRST_GAP, AUDIT_FROM,
    AUDIT_PAGE, AUDIT_SHAPE, BEFORE_ALL, MAX_AHEAD,
};
use consent_core::dashboard::audit::refusals::RefusalTally;
use consent_core::dashboard::audit::{
    chain_base, newest, AuditAction, AuditEntry, AuditEvent, Head, AUDIT_INSERT, AUDIT_LAST,
    HEAD_KEY, POSITION_TAKEN,
};
use consent_core::failure::Failure;
use consent_core::log::{event_line, Level};
use serde::Deserialize;
use std::cell::{Cell, RefCell};
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use worker::d1::{D1Database, D1PreparedStatement};
use worker::{Context, Delay, Env};

/// How often an append is tried when another isolate took its position first; between tries
/// it waits a random while, longer each time (at most about 0.6 s in all).
const APPEND_TRIES: u32 = 6;
/// How often a request waiting for its turn to append looks again.
const TURN_POLL_MS: u64 = 3;
/// How long it waits at most; then it appends anyway (a race the retries settle).
const TURN_WAIT_MS: u64 = 3_000;

/// The audit log's state in an isolate.
#[derive(Debug, Default)]
pub struct AuditState {
    /// An append is under way: concurrent requests of this isolate wait their turn rather than
    /// race each other for the same position. (A flag looked at on a timer, not a lock: the
    /// runtime takes a request woken only by another request's work for a hung one.)
    busy: Cell<bool>,
    /// The head this isolate last wrote (KV may answer with an older one for up to a minute).
    head: RefCell<Option<Head>>,
    /// Refused anonymous requests counted and not yet written.
    refusals: RefCell<RefusalTally>,
}

/// Appends `event` under `key` (`AUDIT_LOG_KEY`), then writes the chain's head to KV. When
/// D1's chain ends below the head (its tail was cut), the entry goes after the head, preceded
/// by one recording the cut (`consent_core::dashboard::audit::chain_base`).
///
/// # Errors
/// When D1 fails (the caller refuses the action it was about to log). A head that cannot be
/// written is logged, not an error: the entry is in the log.
pub async fn append(env: &Env, event: &AuditEvent<'_>, key: &[u8]) -> Result<AuditEntry, Failure> {
    let _turn = Turn::take().await;
    let db = database(env)?;
    let kv_head = read_head(env).await.unwrap_or_else(|e| {
        log_error("audit log head not read", &e, serde_json::Value::Null);
        None
    });
    let known = newest(kv_head, isolate::with(|i| i.audit.head.borrow().clone()));
    let mut last_error = String::new();
    for attempt in 0..APPEND_TRIES {
        if attempt > 0 {
            back_off(attempt).await;
        }
        let last: Option<Head> = db
            .prepare(AUDIT_LAST)
            .first(None)
            .await
            .map_err(|e| Failure::Unavailable(format!("audit log: {e}")))?;
        let (base, cut) = chain_base(last, known.clone());
        let mut entries = Vec::with_capacity(2);
        if let Some(cut) = &cut {
            entries.push(cut.entry(event.at, key));
        }
        let prev = entries.last().map(AuditEntry::head).or(base);
        let entry = AuditEntry::next(prev.as_ref(), event, key);
        entries.push(entry.clone());
        let statements = entries
            .iter()
            .map(|e| insert(&db, e))
            .collect::<Result<Vec<_>, _>>()?;
        // The record of a cut and the entry that found it: both or neither.
        match db.batch(statements).await {
            Ok(_) => {
                if let Some(cut) = &cut {
                    let line = event_line(
                        now_ms(),
                        Level::Error,
                        "audit log below its head: the cut is recorded",
                        serde_json::json!({ "found": cut.target() }),
                    );
                    worker::console_error!("{line}");
                }
                write_head(env, entry.head()).await;
                return Ok(entry);
            }
            Err(e) => {
                last_error = e.to_string();
                // Only a lost race for the position is worth another try.
                if !last_error.contains(POSITION_TAKEN) {
                    break;
                }
            }
        }
    }
    Err(Failure::Unavailable(format!(
        "audit log append failed: {last_error}"
    )))
}

/// This request's turn to append; given back when dropped (also when the request is dropped
/// half-way).
struct Turn {
    held: bool,
}

impl Turn {
    async fn take() -> Self {
        let mut waited = 0;
        while isolate::with(|i| i.audit.busy.replace(true)) {
            if waited >= TURN_WAIT_MS {
                return Self { held: false };
            }
            Delay::from(Duration::from_millis(TURN_POLL_MS)).await;
            waited += TURN_POLL_MS;
        }
        Self { held: true }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.held {
            isolate::with(|i| i.audit.busy.set(false));
        }
    }
}

fn number(n: u64) -> JsValue {
    #[allow(clippy::cast_precision_loss)] // positions and counts far below 2^53
    JsValue::from_f64(n as f64)
}

fn insert(db: &D1Database, e: &AuditEntry) -> Result<D1PreparedStatement, Failure> {
    db.prepare(AUDIT_INSERT)
        .bind(&[
            number(e.seq),
            e.at.as_str().into(),
            e.who.as_str().into(),
            e.role.as_str().into(),
            e.action.as_str().into(),
            e.target.as_str().into(),
            e.ip.as_str().into(),
            number(e.count),
            e.prev_hash.as_str().into(),
            e.hash.as_str().into(),
        ])
        .map_err(|e| d1_failed(&e))
}

async fn back_off(attempt: u32) {
    let jitter = u64::from(random_bytes::<1>().map_or(128, |b| b[0]));
    let ms = (10u64 << attempt) * (jitter + 64) / 320;
    Delay::from(Duration::from_millis(ms)).await;
}

async fn read_head(env: &Env) -> Result<Option<Head>, Failure> {
    let kv = env
        .kv(KV_BINDING)
        .map_err(|e| Failure::Unavailable(format!("KV binding {KV_BINDING} unavailable: {e}")))?;
    kv.get(HEAD_KEY)
        .json::<Head>()
        .await
        .map_err(|e| Failure::Unavailable(format!("KV: {e}")))
}

async fn write_head(env: &Env, head: Head) {
    isolate::with(|i| {
        let mut known = i.audit.head.borrow_mut();
        *known = newest(known.take(), Some(head.clone()));
    });
    let written = async {
        let kv = env.kv(KV_BINDING).map_err(|e| e.to_string())?;
        let value = serde_json::to_string(&head).map_err(|e| e.to_string())?;
        kv.put(HEAD_KEY, value.as_str())
            .map_err(|e| e.to_string())?
            .execute()
            .await
            .map_err(|e| e.to_string())
    };
    if let Err(e) = written.await {
        let fields = serde_json::json!({ "seq": head.seq });
        log_error(
            "audit log head not written",
            &Failure::Unavailable(e),
            fields,
        );
    }
}

fn log_error(msg: &str, error: &Failure, fields: serde_json::Value) {
    let mut fields = match fields {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    fields.insert("error".into(), error.to_string().into());
    let line = event_line(now_ms(), Level::Error, msg, fields.into());
    worker::console_error!("{line}");
}

/// Notes a refused anonymous request from `network`: true when it is the network's first this
/// minute and must be written now; otherwise it is counted.
pub fn note_refusal(network: &str, now: u64, target: &str) -> bool {
    use consent_core::dashboard::audit::refusals::Noted;
    isolate::with(|i| i.audit.refusals.borrow_mut().note(network, now, target)) == Noted::WriteNow
}

/// Writes the refusals this isolate counted: of the minutes that are over, or (`all`, when
/// the log is read) every one. A count that cannot be written is logged with its network.
pub async fn write_counted(env: &Env, key: Option<&SecretBytes>, now: u64, all: bool) {
    let counted = isolate::with(|i| {
        let mut tally = i.audit.refusals.borrow_mut();
        if all {
            tally.take_all(now)
        } else {
            tally.take_due(now)
        }
    });
    let at = rfc3339(now);
    for c in &counted {
        let target = c.target();
        let event = AuditEvent {
            at: &at,
            who: "anonymous",
            role: "none",
            action: AuditAction::Refused,
            target: &target,
            ip: &c.network,
            count: c.count,
        };
        let written = match key {
            Some(key) => append(env, &event, key.expose()).await.map(|_| ()),
            None => Err(Failure::NotConfigured("audit log key missing")),
        };
        if let Err(e) = written {
            let fields = serde_json::json!({ "network": c.network, "count": c.count });
            log_error("refused attempts not audited", &e, fields);
        }
    }
}

/// After a response: when this isolate holds counted refusals and no timer will write them,
/// one waits (`ctx.waitUntil`) for their minute to end and writes them. If the runtime ends
/// it first, the isolate's next audited action, or the next response after its time, does.
pub fn schedule_counted(now: u64, env: &JsValue, ctx: &JsValue) {
    let Some(mut at) = isolate::with(|i| i.audit.refusals.borrow_mut().arm(now)) else {
        return;
    };
    let env: Env = env.clone().unchecked_into();
    let ctx = Context::new(ctx.clone().unchecked_into());
    ctx.wait_until(async move {
        loop {
            let wait = at.saturating_sub(now_ms()) + 250;
            Delay::from(Duration::from_millis(wait)).await;
            let now = now_ms();
            let config = crate::config::config(&env, now);
            write_counted(&env, config.audit_key.as_ref(), now, false).await;
            let next = isolate::with(|i| {
                let mut tally = i.audit.refusals.borrow_mut();
                tally.disarm();
                tally.arm(now_ms())
            });
            match next {
                Some(next) => at = next,
                None => break,
            }
        }
    });
}

#[derive(Deserialize)]
struct FirstMissing {
    first_missing: Option<u64>,
}

/// The first empty position and the entry after it (read only when the count says there is
/// one).
async fn first_gap(db: &D1Database) -> Result<Gap, Failure> {
    let failed = |e: worker::Error| Failure::Unavailable(format!("audit log: {e}"));
    let first: Option<FirstMissing> = db
        .prepare(AUDIT_FIRST_GAP)
        .first(None)
        .await
        .map_err(failed)?;
    let first_missing = first.and_then(|f| f.first_missing).unwrap_or(1);
    let next = db
        .prepare(AUDIT_FROM)
        .bind(&[number(first_missing), number(1)])
        .map_err(failed)?
        .all()
        .await
        .and_then(|r| r.results::<AuditEntry>())
        .map_err(failed)?;
    Ok(Gap {
        first_missing,
        next: next.into_iter().next(),
    })
}

/// One page of the log and the chain's state as the domain judges it, as the route's JSON.
/// A head that cannot be read is reported as such (`"head": {"status": "unavailable"}`), never
/// an error.
///
/// # Errors
/// When D1 fails.
pub async fn read(
    env: &Env,
    request: &PageRequest,
    key: &[u8],
) -> Result<serde_json::Value, Failure> {
    let head = match read_head(env).await {
        Ok(Some(head)) => HeadRead::Stored(head),
        Ok(None) => HeadRead::Absent,
        Err(e) => {
            log_error("audit log head not read", &e, serde_json::Value::Null);
            HeadRead::Unavailable
        }
    };
    let db = database(env)?;
    let failed = |e: worker::Error| Failure::Unavailable(format!("audit log: {e}"));
    let bind = |sql: &str, params: &[JsValue]| db.prepare(sql).bind(params).map_err(failed);
    let mut statements = vec![
        db.prepare(AUDIT_SHAPE),
        bind(
            AUDIT_PAGE,
            &[
                number(request.before.unwrap_or(BEFORE_ALL)),
                number(u64::from(request.limit) + 1),
            ],
        )?,
    ];
    if let HeadRead::Stored(head) = &head {
        statements.push(bind(
            AUDIT_FROM,
            &[number(head.seq), number(u64::from(MAX_AHEAD) + 1)],
        )?);
    }
    let results = db.batch(statements).await.map_err(failed)?;
    let rows = |i: usize| -> Result<Vec<AuditEntry>, Failure> {
        results.get(i).map_or(Ok(Vec::new()), |r| {
            r.results::<AuditEntry>().map_err(failed)
        })
    };
    let shape = results
        .first()
        .map(|r| r.results::<Shape>().map_err(failed))
        .transpose()?
        .and_then(|v| v.into_iter().next())
        .unwrap_or_default();
    let (page, from_head) = (rows(1)?, rows(2)?);
    let gap = if shape.missing() > 0 {
        Some(first_gap(&db).await?)
    } else {
        None
    };
    let report = judge(
        &Found {
            shape,
            gap: gap.as_ref(),
            page: &page,
            head: &head,
            from_head: &from_head,
        },
        key,
    );
    Ok(answer(&report, request, &shape, &page))
}

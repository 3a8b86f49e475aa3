//! `GET /_consent/health`: the configuration's summary (`consent_core::config::Config::health`)
//! with what only the running worker knows: whether it was reached on a loopback host, whether
//! D1's schema has the newest migration, and which build this is.

use crate::dashboard::stats::database;
use crate::visit::Visit;
use consent_core::config::{Config, HealthFacts, SchemaState};
use consent_core::dashboard::stats::{APPLIED_MIGRATION_QUERY, LATEST_MIGRATION};
use consent_core::ip::is_loopback_host;
use js_sys::Reflect;
use worker::Env;

/// The global `src/js/entry.mjs` sets from the build stamp `scripts/build.sh` gives esbuild:
/// `{commit, builtAt}`. A global, not wasm state, so a re-instantiated module still has it.
const BUILD_GLOBAL: &str = "__sivoBuild";

/// A row of wrangler's `d1_migrations`.
#[derive(serde::Deserialize)]
struct Applied {
    name: String,
}

/// The health answer's JSON.
pub async fn health(env: &Env, config: &Config, visit: &Visit) -> serde_json::Value {
    let schema = schema(env).await;
    let (commit, built_at) = build();
    config.health(&HealthFacts {
        loopback: is_loopback_host(&visit.host),
        schema,
        commit: commit.as_deref(),
        built_at: built_at.as_deref(),
    })
}

/// The schema's state. Once current, it stays current for the isolate's life (migrations
/// only move forward), so a monitor polling health costs D1 one read per isolate.
async fn schema(env: &Env) -> SchemaState {
    if crate::isolate::with(|i| i.schema_current.get()) {
        return SchemaState::Current;
    }
    let Ok(db) = database(env) else {
        return SchemaState::Unavailable;
    };
    let state = match db
        .prepare(APPLIED_MIGRATION_QUERY)
        .first::<Applied>(None)
        .await
    {
        Ok(Some(applied)) if applied.name == LATEST_MIGRATION => SchemaState::Current,
        Ok(applied) => SchemaState::Behind(applied.map(|a| a.name)),
        // No `d1_migrations` table: no migration was ever applied.
        Err(e) if e.to_string().contains("no such table") => SchemaState::Behind(None),
        Err(_) => SchemaState::Unavailable,
    };
    if state == SchemaState::Current {
        crate::isolate::with(|i| i.schema_current.set(true));
    }
    state
}

/// The build's commit and time, if the entry was bundled with them.
fn build() -> (Option<String>, Option<String>) {
    let stamp = Reflect::get(&js_sys::global(), &BUILD_GLOBAL.into()).unwrap_or_default();
    let field = |name: &str| {
        Reflect::get(&stamp, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    if stamp.is_object() {
        (field("commit"), field("builtAt"))
    } else {
        (None, None)
    }
}

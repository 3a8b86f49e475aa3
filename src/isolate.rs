//! Everything the worker keeps per isolate, in one place: an isolate's bindings never change,
//! so what is read or built from them once serves every later request it handles. Nothing
//! here is a visitor's: the page views are counts, the keys are public, and refused dashboard
//! requests are counted by truncated IP only.

use crate::dashboard::AuditState;
use consent_core::config::Config;
use consent_core::dashboard::access::KeyCache;
use consent_core::dashboard::stats::{bot_pattern, PageViewTally};
use consent_core::i18n::Lang;
use consent_core::visitor::banner::{banner_template, BannerTemplate, BannerVariant};
use consent_core::visitor::settings_link::settings_link;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};

/// The isolate's state.
#[derive(Debug, Default)]
pub struct Isolate {
    /// The configuration, read and checked on the first request (`crate::config`).
    pub config: OnceCell<Rc<Config>>,
    /// Page views counted and not yet written to D1 (`crate::dashboard::stats`).
    pub page_views: RefCell<PageViewTally>,
    /// The known bots' user-agent pattern ([`is_bot`]), compiled on the first page view that
    /// asks; `None` if the runtime refused it.
    bots: OnceCell<Option<js_sys::RegExp>>,
    /// The Access team's keys, and when they were fetched and last tried
    /// (`crate::dashboard::access`).
    pub access_keys: RefCell<KeyCache>,
    /// Whether D1's schema was found to have the newest migration (`crate::health`).
    pub schema_current: Cell<bool>,
    /// The audit log's turn, last head and counted refusals (`crate::dashboard::audit`).
    pub audit: AuditState,
    /// Whether the site's CSP was logged as forbidding what the worker adds
    /// (`crate::gate`): once per isolate.
    pub csp_forbidding_noted: Cell<bool>,
    /// The banner template of each variant: a page view only fills in its path and nonce.
    banners: RefCell<HashMap<BannerVariant, Rc<BannerTemplate>>>,
    /// The settings link per language, copied into JavaScript once.
    settings_links: RefCell<HashMap<Lang, JsValue>>,
}

thread_local! {
    static ISOLATE: Isolate = Isolate::default();
}

/// Runs `f` with the isolate's state.
pub fn with<R>(f: impl FnOnce(&Isolate) -> R) -> R {
    ISOLATE.with(f)
}

/// The banner template of `variant` (`BannerTemplate::render`, the renderer the domain's
/// tests check, fills it in).
pub fn banner(variant: BannerVariant) -> Rc<BannerTemplate> {
    with(|isolate| {
        Rc::clone(
            isolate
                .banners
                .borrow_mut()
                .entry(variant)
                .or_insert_with(|| Rc::new(banner_template(variant))),
        )
    })
}

/// The settings link of `lang`.
pub fn settings_link_js(lang: Lang) -> JsValue {
    with(|isolate| {
        isolate
            .settings_links
            .borrow_mut()
            .entry(lang)
            .or_insert_with(|| JsValue::from_str(&settings_link(lang)))
            .clone()
    })
}

/// True when `user_agent` is a known bot's: the `isbot` package's patterns
/// (`consent_core::dashboard::stats::BOT_PATTERNS`), joined into one case-insensitive
/// JavaScript `RegExp` as the package does, compiled once per isolate and matched by the
/// runtime's engine. No user agent, or an empty one, is not a bot (as the package says).
pub fn is_bot(user_agent: Option<&str>) -> bool {
    let Some(user_agent) = user_agent.filter(|ua| !ua.is_empty()) else {
        return false;
    };
    with(|isolate| {
        isolate
            .bots
            .get_or_init(compile_bot_pattern)
            .as_ref()
            .is_some_and(|pattern| pattern.test(user_agent))
    })
}

/// `new RegExp(pattern, "i")`, through `Reflect.construct` so that a refusal is an error to
/// log (no bot is then recognised), not a trap.
fn compile_bot_pattern() -> Option<js_sys::RegExp> {
    let construct = || -> Result<js_sys::RegExp, JsValue> {
        let constructor: js_sys::Function =
            js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("RegExp"))?.dyn_into()?;
        let args = js_sys::Array::of2(&JsValue::from_str(&bot_pattern()), &JsValue::from_str("i"));
        js_sys::Reflect::construct(&constructor, &args)?.dyn_into()
    };
    construct()
        .map_err(|e| {
            let line = consent_core::log::event_line(
                crate::platform::now_ms(),
                consent_core::log::Level::Error,
                "the bot pattern did not compile: no page view is counted as a bot's",
                serde_json::json!({ "error": format!("{e:?}") }),
            );
            worker::console_error!("{line}");
        })
        .ok()
}

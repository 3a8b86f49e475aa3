//! Everything the worker keeps per isolate, in one place: an isolate's bindings never change,
//! so what is read or built from them once serves every later request it handles. Nothing
//! here is a visitor's: the page views are counts, the keys are public, and refused dashboard
//! requests are counted by truncated IP only.

use crate::dashboard::AuditState;
use consent_core::config::Config;
use consent_core::dashboard::access::KeyCache;
use consent_core::dashboard::stats::PageViewTally;
use consent_core::i18n::Lang;
use consent_core::visitor::banner::{banner_template, BannerTemplate, BannerVariant};
use consent_core::visitor::settings_link::settings_link;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::JsValue;

/// The isolate's state.
#[derive(Debug, Default)]
pub struct Isolate {
    /// The configuration, read and checked on the first request (`crate::config`).
    pub config: OnceCell<Rc<Config>>,
    /// Page views counted and not yet written to D1 (`crate::dashboard::stats`).
    pub page_views: RefCell<PageViewTally>,
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

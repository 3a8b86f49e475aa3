//! The banner, rendered once per variant per isolate and kept as JavaScript strings, so a
//! page view only joins three strings in the runtime.

use consent_core::banner::{banner_template, BannerVariant};
use consent_core::inject::escape_html;
use js_sys::JsString;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// One banner variant, ready to inject.
#[derive(Debug)]
pub struct CachedBanner {
    head: JsString,
    tail: JsString,
    /// SHA-256 of the banner's text, style and script, for proof records.
    pub sha256: String,
}

impl CachedBanner {
    /// The banner for the page at `path`.
    pub fn render(&self, path: &str) -> JsString {
        self.head
            .concat(&JsString::from(escape_html(path)))
            .concat(&self.tail)
    }
}

thread_local! {
    static BANNERS: RefCell<HashMap<BannerVariant, Rc<CachedBanner>>> = RefCell::new(HashMap::new());
}

/// The banner of `variant`.
pub fn banner(variant: BannerVariant) -> Rc<CachedBanner> {
    BANNERS.with(|cache| {
        Rc::clone(cache.borrow_mut().entry(variant).or_insert_with(|| {
            let t = banner_template(variant);
            Rc::new(CachedBanner {
                head: JsString::from(t.head),
                tail: JsString::from(t.tail),
                sha256: t.sha256,
            })
        }))
    })
}

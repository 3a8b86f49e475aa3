//! The banner, rendered once per variant per isolate and kept as JavaScript strings, so a
//! page view only joins a few strings in the runtime.

use consent_core::banner::{banner_template, BannerVariant, Part};
use consent_core::inject::escape_html;
use js_sys::JsString;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// One part of a cached banner.
#[derive(Debug)]
enum CachedPart {
    Text(JsString),
    Nonce,
    ReturnTo,
}

/// One banner variant, ready to inject.
#[derive(Debug)]
pub struct CachedBanner {
    parts: Vec<CachedPart>,
    /// SHA-256 of the banner's text, style and script, for proof records.
    pub sha256: String,
}

impl CachedBanner {
    /// The banner for the page at `path`, its style and script carrying `nonce`.
    pub fn render(&self, path: &str, nonce: &JsString) -> JsString {
        let path = JsString::from(escape_html(path));
        self.parts
            .iter()
            .fold(JsString::from(""), |out, part| match part {
                CachedPart::Text(t) => out.concat(t),
                CachedPart::Nonce => out.concat(nonce),
                CachedPart::ReturnTo => out.concat(&path),
            })
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
            let parts = t
                .parts
                .into_iter()
                .map(|p| match p {
                    Part::Text(text) => CachedPart::Text(JsString::from(text)),
                    Part::Nonce => CachedPart::Nonce,
                    Part::ReturnTo => CachedPart::ReturnTo,
                })
                .collect();
            Rc::new(CachedBanner {
                parts,
                sha256: t.sha256,
            })
        }))
    })
}

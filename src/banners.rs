//! The banner of each variant, built once per isolate: a page view only fills in its path
//! and nonce (`BannerTemplate::render`, the renderer the domain's tests check).

use consent_core::visitor::banner::{banner_template, BannerTemplate, BannerVariant};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    static BANNERS: RefCell<HashMap<BannerVariant, Rc<BannerTemplate>>> = RefCell::new(HashMap::new());
}

/// The banner template of `variant`.
pub fn banner(variant: BannerVariant) -> Rc<BannerTemplate> {
    BANNERS.with(|cache| {
        Rc::clone(
            cache
                .borrow_mut()
                .entry(variant)
                .or_insert_with(|| Rc::new(banner_template(variant))),
        )
    })
}

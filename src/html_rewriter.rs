//! A small, typed binding to the Workers runtime's own `HTMLRewriter`.
//!
//! The `worker` crate has no binding of its own (workers-rs #202), and compiling `lol_html`
//! into the wasm costs ~230 KB gzipped and every body byte a trip into wasm and back. Here
//! the runtime parses and streams the page in native code and calls into wasm only for the
//! few elements a selector matches.
//!
//! Callbacks do not leak: each kind of handler is one wasm closure per isolate, created on
//! first use and kept for the isolate's life. What differs per response (the HTML to insert)
//! is bound to it with `Function.prototype.bind`, which makes an ordinary JavaScript function
//! the garbage collector frees with the response. No `Closure::forget` per request.

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// The runtime's `HTMLRewriter` class.
    #[wasm_bindgen(js_name = HTMLRewriter)]
    #[derive(Debug, Clone)]
    type JsHtmlRewriter;

    #[wasm_bindgen(constructor, js_class = "HTMLRewriter", catch)]
    fn new() -> Result<JsHtmlRewriter, JsValue>;

    #[wasm_bindgen(method, catch, js_class = "HTMLRewriter", js_name = on)]
    fn on(
        this: &JsHtmlRewriter,
        selector: &str,
        handlers: &Object,
    ) -> Result<JsHtmlRewriter, JsValue>;

    #[wasm_bindgen(method, catch, js_class = "HTMLRewriter", js_name = transform)]
    fn transform(
        this: &JsHtmlRewriter,
        response: &web_sys::Response,
    ) -> Result<web_sys::Response, JsValue>;

    /// An element the runtime hands to a handler.
    #[derive(Debug)]
    pub type Element;

    #[wasm_bindgen(method, catch, js_name = append)]
    fn append(this: &Element, content: &JsValue, options: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = prepend)]
    fn prepend(this: &Element, content: &JsValue, options: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = remove)]
    fn remove(this: &Element) -> Result<(), JsValue>;
}

/// What a handler does to each element its selector matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(dead_code)] // Remove serves the analytics gating, still to come.
pub enum Edit {
    /// Insert HTML just before the element's end tag.
    AppendHtml,
    /// Insert HTML just after the element's start tag.
    PrependHtml,
    /// Remove the element and its content.
    Remove,
}

thread_local! {
    /// `{ html: true }`, shared by every insertion.
    static HTML_OPTIONS: JsValue = {
        let options = Object::new();
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&options, &JsValue::from_str("html"), &JsValue::TRUE);
        options.into()
    };
    /// One closure per kind of edit, for the isolate's life.
    static APPEND: Closure<dyn Fn(JsValue, Element)> =
        Closure::new(|html: JsValue, el: Element| HTML_OPTIONS.with(|o| report(el.append(&html, o))));
    static PREPEND: Closure<dyn Fn(JsValue, Element)> =
        Closure::new(|html: JsValue, el: Element| HTML_OPTIONS.with(|o| report(el.prepend(&html, o))));
    static REMOVE: Closure<dyn Fn(Element)> = Closure::new(|el: Element| report(el.remove()));
}

/// An element method only fails when the element is already gone (removed by an earlier
/// handler): nothing to do, but say so in the log rather than abort the page.
fn report(result: Result<(), JsValue>) {
    if let Err(err) = result {
        worker::console_warn!(
            "{{\"level\":\"warn\",\"msg\":\"html rewrite edit skipped\",\"error\":{:?}}}",
            err.as_string().unwrap_or_default()
        );
    }
}

/// A set of edits to apply to an HTML response as it streams.
#[derive(Debug)]
pub struct HtmlRewriter {
    inner: JsHtmlRewriter,
}

impl HtmlRewriter {
    /// A rewriter with no edits yet.
    ///
    /// # Errors
    /// When the runtime has no `HTMLRewriter` (not a Workers runtime).
    pub fn new() -> Result<Self, JsValue> {
        Ok(Self {
            inner: JsHtmlRewriter::new()?,
        })
    }

    /// Applies `edit` to every element matching the CSS `selector`; `html` is the markup
    /// for [`Edit::AppendHtml`] and [`Edit::PrependHtml`] and ignored for [`Edit::Remove`].
    ///
    /// # Errors
    /// When the runtime rejects the selector.
    pub fn on(self, selector: &str, edit: Edit, html: &JsValue) -> Result<Self, JsValue> {
        let element: Function = match edit {
            Edit::AppendHtml => APPEND.with(|c| bind_html(c, html)),
            Edit::PrependHtml => PREPEND.with(|c| bind_html(c, html)),
            Edit::Remove => REMOVE.with(|c| c.as_ref().unchecked_ref::<Function>().clone()),
        };
        let handlers = Object::new();
        Reflect::set(&handlers, &JsValue::from_str("element"), &element)?;
        Ok(Self {
            inner: self.inner.on(selector, &handlers)?,
        })
    }

    /// Starts streaming `response` through the edits; returns at once with the new response.
    ///
    /// # Errors
    /// When the response's body was already used.
    pub fn transform(&self, response: &web_sys::Response) -> Result<web_sys::Response, JsValue> {
        self.inner.transform(response)
    }
}

fn bind_html(closure: &Closure<dyn Fn(JsValue, Element)>, html: &JsValue) -> Function {
    closure
        .as_ref()
        .unchecked_ref::<Function>()
        .bind1(&JsValue::NULL, html)
        .unchecked_into()
}

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

use consent_core::consent::Choices;
use consent_core::gating::{
    blocked_hosts, element_is_blocked, loads_google_tag, ChunkAction, InlineGate, MATCH_OVERLAP,
};
use js_sys::{Function, JsString, Object, Reflect};
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

    #[wasm_bindgen(method, catch, js_class = "HTMLRewriter", js_name = onDocument)]
    fn on_document(this: &JsHtmlRewriter, handlers: &Object) -> Result<JsHtmlRewriter, JsValue>;

    #[wasm_bindgen(method, catch, js_class = "HTMLRewriter", js_name = transform)]
    fn transform(
        this: &JsHtmlRewriter,
        response: &web_sys::Response,
    ) -> Result<web_sys::Response, JsValue>;

    /// An element the runtime hands to a handler.
    #[derive(Debug)]
    pub type Element;

    #[wasm_bindgen(method, catch, js_name = prepend)]
    fn prepend(this: &Element, content: &JsValue, options: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = remove)]
    fn remove(this: &Element) -> Result<(), JsValue>;

    /// The element's attributes: an iterator of `[name, value]` pairs.
    #[wasm_bindgen(method, getter)]
    fn attributes(this: &Element) -> JsValue;

    #[wasm_bindgen(method, catch, js_name = onEndTag)]
    fn on_end_tag(this: &Element, handler: &Function) -> Result<(), JsValue>;

    /// The end tag of an element.
    #[derive(Debug)]
    pub type EndTag;

    #[wasm_bindgen(method, catch, js_name = before)]
    fn before(this: &EndTag, content: &JsValue, options: &JsValue) -> Result<(), JsValue>;

    /// The end of the document.
    #[derive(Debug)]
    pub type DocumentEnd;

    #[wasm_bindgen(method, catch, js_name = append)]
    fn append_at_end(
        this: &DocumentEnd,
        content: &JsValue,
        options: &JsValue,
    ) -> Result<(), JsValue>;

    /// A piece of an element's text (for `<script>`, its source).
    #[derive(Debug)]
    pub type TextChunk;

    #[wasm_bindgen(method, getter, js_name = text)]
    fn text(this: &TextChunk) -> JsString;

    #[wasm_bindgen(method, getter, js_name = lastInTextNode)]
    fn last_in_text_node(this: &TextChunk) -> bool;

    #[wasm_bindgen(method, catch, js_name = remove)]
    fn remove_chunk(this: &TextChunk) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = replace)]
    fn replace_chunk(this: &TextChunk, content: &JsValue, options: &JsValue)
        -> Result<(), JsValue>;
}

/// What an element handler does with each element its selector matches. Handlers with
/// a per-response [`PageState`] read it when they run, so what they do can depend on what
/// the page held before that point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edit {
    /// Insert the given HTML just after the element's start tag.
    PrependHtml,
    /// Remove the element if it loads a host the state's choices block
    /// (`consent_core::gating::element_is_blocked`).
    RemoveIfBlocked,
    /// Note in the [`PageState`] that the page loads its own tag.
    MarkOwnTag,
    /// Before the element's end tag, insert the state's `loaders` unless the page loads its
    /// own tag.
    LoadersBeforeEnd,
    /// After the start tag, insert the state's `noscript` unless the page loads its own tag.
    NoscriptUnlessOwnTag,
    /// On `<body>`: insert the state's `banner` after the start tag and its `link` before
    /// the end tag, noting both in the state so that [`HtmlRewriter::finish_body`] can make
    /// up for a page whose `<body>` or `</body>` never comes.
    Body,
}

/// What a text handler does with the text of the elements its selector matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextEdit {
    /// Remove an inline script whose source mentions a host the state's choices block.
    /// Chunks are held back until the script's last chunk, so a host name split across
    /// chunks is still seen; a script that passes is written back unchanged.
    DropBlockedScript,
    /// Note in the state that an inline script loads Google's tag itself.
    MarkOwnInlineTag,
}

/// Per-response state shared by the handlers of one page: a plain JavaScript object, freed
/// with the response.
#[derive(Debug, Clone)]
pub struct PageState(Object);

impl PageState {
    /// A state for [`Edit::Body`]: the banner (or nothing) and the settings link.
    ///
    /// # Errors
    /// Only if the runtime refuses to set a property on a fresh object.
    pub fn for_body(banner: Option<&JsValue>, link: &JsValue) -> Result<Self, JsValue> {
        let o = Object::new();
        Reflect::set(&o, &"banner".into(), banner.unwrap_or(&JsValue::UNDEFINED))?;
        Reflect::set(&o, &"link".into(), link)?;
        Ok(Self(o))
    }

    /// A state with the markup to insert and the visitor's choices (which decide what is
    /// blocked).
    ///
    /// # Errors
    /// Only if the runtime refuses to set a property on a fresh object.
    pub fn new(loaders: &str, noscript: &str, choices: Choices) -> Result<Self, JsValue> {
        let o = Object::new();
        Reflect::set(&o, &"seen".into(), &JsValue::FALSE)?;
        Reflect::set(&o, &"loaders".into(), &loaders.into())?;
        Reflect::set(&o, &"noscript".into(), &noscript.into())?;
        Reflect::set(&o, &"buf".into(), &JsString::from(""))?;
        Reflect::set(&o, &"analytics".into(), &choices.analytics.into())?;
        Reflect::set(&o, &"marketing".into(), &choices.marketing.into())?;
        Ok(Self(o))
    }
}

fn get(state: &JsValue, key: &str) -> JsValue {
    Reflect::get(state, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn set(state: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(state, &JsValue::from_str(key), value);
}

/// The hosts blocked for the page whose state this is.
fn blocked_for(state: &JsValue) -> &'static [&'static str] {
    blocked_hosts(Choices {
        analytics: get(state, "analytics").is_truthy(),
        marketing: get(state, "marketing").is_truthy(),
    })
}

/// Every attribute value of an element.
fn attribute_values(el: &Element) -> Vec<String> {
    let Ok(Some(pairs)) = js_sys::try_iter(&el.attributes()) else {
        return Vec::new();
    };
    pairs
        .filter_map(Result::ok)
        .filter_map(|pair| Reflect::get_u32(&pair, 1).ok()?.as_string())
        .collect()
}

/// The chunk's text preceded by the end of the text before it (kept in the state as
/// `tail`), so a host name split across chunks is still seen; the new tail is stored.
fn window(state: &JsValue, chunk: &JsString) -> JsString {
    let tail: JsString = get(state, "tail")
        .dyn_into()
        .unwrap_or_else(|_| JsString::from(""));
    let window = tail.concat(chunk);
    let overlap = u32::try_from(MATCH_OVERLAP).unwrap_or(u32::MAX);
    let len = window.length();
    set(
        state,
        "tail",
        &window.slice(len.saturating_sub(overlap), len),
    );
    window
}

/// The state's [`InlineGate`], kept as plain properties between the runtime's calls.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // written by store_gate: a whole number ≤ MAX_HELD_SCRIPT
fn gate_of(state: &JsValue) -> InlineGate {
    InlineGate {
        held: get(state, "held").as_f64().map_or(0, |n| n as usize),
        streaming: get(state, "streaming").is_truthy(),
        dropping: get(state, "dropping").is_truthy(),
    }
}

fn store_gate(state: &JsValue, gate: InlineGate) {
    #[allow(clippy::cast_precision_loss)] // at most MAX_HELD_SCRIPT: exact in an f64
    set(state, "held", &JsValue::from_f64(gate.held as f64));
    set(state, "streaming", &JsValue::from_bool(gate.streaming));
    set(state, "dropping", &JsValue::from_bool(gate.dropping));
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
    static PREPEND: Closure<dyn Fn(JsValue, Element)> =
        Closure::new(|html: JsValue, el: Element| HTML_OPTIONS.with(|o| report(el.prepend(&html, o))));
    static REMOVE_IF_BLOCKED: Closure<dyn Fn(JsValue, Element)> = Closure::new(|state: JsValue, el: Element| {
        let values = attribute_values(&el);
        if element_is_blocked(values.iter().map(String::as_str), blocked_for(&state)) {
            report(el.remove());
        }
    });
    static MARK: Closure<dyn Fn(JsValue, JsValue)> =
        Closure::new(|state: JsValue, _el: JsValue| set(&state, "seen", &JsValue::TRUE));
    static LOADERS_AT_END: Closure<dyn Fn(JsValue, EndTag)> = Closure::new(|state: JsValue, end: EndTag| {
        if !get(&state, "seen").is_truthy() {
            HTML_OPTIONS.with(|o| report(end.before(&get(&state, "loaders"), o)));
        }
    });
    static LOADERS_BEFORE_END: Closure<dyn Fn(JsValue, Element)> = Closure::new(|state: JsValue, el: Element| {
        let handler = LOADERS_AT_END.with(|c| bind(c.as_ref(), &state));
        report(el.on_end_tag(&handler));
    });
    static NOSCRIPT: Closure<dyn Fn(JsValue, Element)> = Closure::new(|state: JsValue, el: Element| {
        if !get(&state, "seen").is_truthy() {
            HTML_OPTIONS.with(|o| report(el.prepend(&get(&state, "noscript"), o)));
        }
    });
    static DROP_BLOCKED_SCRIPT: Closure<dyn Fn(JsValue, TextChunk)> = Closure::new(|state: JsValue, chunk: TextChunk| {
        // The judgement is the domain's (InlineGate); only the window crosses into wasm, and
        // the held text stays a JavaScript string.
        let text = chunk.text();
        let last = chunk.last_in_text_node();
        let mut gate = gate_of(&state);
        let window = String::from(&window(&state, &text));
        let action = gate.next(&window, text.length() as usize, last, blocked_for(&state));
        store_gate(&state, gate);
        let held: JsString = get(&state, "buf").dyn_into().unwrap_or_else(|_| JsString::from(""));
        match action {
            ChunkAction::Hold => {
                set(&state, "buf", &held.concat(&text));
                report(chunk.remove_chunk());
            }
            ChunkAction::Drop => report(chunk.remove_chunk()),
            ChunkAction::Pass => {}
            ChunkAction::ReleaseHeld => {
                HTML_OPTIONS.with(|o| report(chunk.replace_chunk(&held.concat(&text), o)));
            }
        }
        if action != ChunkAction::Hold {
            set(&state, "buf", &JsString::from(""));
        }
        if last {
            set(&state, "tail", &JsString::from(""));
        }
    });
    static BODY: Closure<dyn Fn(JsValue, Element)> = Closure::new(|state: JsValue, el: Element| {
        set(&state, "body_seen", &JsValue::TRUE);
        let banner = get(&state, "banner");
        if banner.is_truthy() {
            HTML_OPTIONS.with(|o| report(el.prepend(&banner, o)));
        }
        let handler = BODY_END.with(|c| bind(c.as_ref(), &state));
        report(el.on_end_tag(&handler));
    });
    static BODY_END: Closure<dyn Fn(JsValue, EndTag)> = Closure::new(|state: JsValue, end: EndTag| {
        set(&state, "link_done", &JsValue::TRUE);
        HTML_OPTIONS.with(|o| report(end.before(&get(&state, "link"), o)));
    });
    static DOCUMENT_END: Closure<dyn Fn(JsValue, DocumentEnd)> = Closure::new(|state: JsValue, end: DocumentEnd| {
        // Malformed pages: no <body> at all, or no </body>. Browsers put what follows the
        // document's end into the body, so the banner and the link still show.
        let mut missing = JsString::from("");
        if !get(&state, "body_seen").is_truthy() {
            if let Ok(banner) = get(&state, "banner").dyn_into::<JsString>() {
                missing = missing.concat(&banner);
            }
        }
        if !get(&state, "link_done").is_truthy() {
            if let Ok(link) = get(&state, "link").dyn_into::<JsString>() {
                missing = missing.concat(&link);
            }
        }
        if missing.length() > 0 {
            HTML_OPTIONS.with(|o| report(end.append_at_end(&missing, o)));
        }
    });
    static MARK_INLINE: Closure<dyn Fn(JsValue, TextChunk)> = Closure::new(|state: JsValue, chunk: TextChunk| {
        if loads_google_tag(&String::from(&window(&state, &chunk.text()))) {
            set(&state, "seen", &JsValue::TRUE);
        }
        if chunk.last_in_text_node() {
            set(&state, "tail", &JsString::from(""));
        }
    });
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

    /// Applies `edit` to every element matching the CSS `selector`. `data` is the markup
    /// for [`Edit::PrependHtml`], the page's [`PageState`] (as a
    /// value) for the edits that read it.
    ///
    /// # Errors
    /// When the runtime rejects the selector.
    pub fn on(self, selector: &str, edit: Edit, data: &JsValue) -> Result<Self, JsValue> {
        let element: Function = match edit {
            Edit::PrependHtml => PREPEND.with(|c| bind(c.as_ref(), data)),
            Edit::RemoveIfBlocked => REMOVE_IF_BLOCKED.with(|c| bind(c.as_ref(), data)),
            Edit::MarkOwnTag => MARK.with(|c| bind(c.as_ref(), data)),
            Edit::LoadersBeforeEnd => LOADERS_BEFORE_END.with(|c| bind(c.as_ref(), data)),
            Edit::NoscriptUnlessOwnTag => NOSCRIPT.with(|c| bind(c.as_ref(), data)),
            Edit::Body => BODY.with(|c| bind(c.as_ref(), data)),
        };
        self.with_handler(selector, "element", &element)
    }

    /// Applies `edit` to the text of every element matching `selector`, with the page's
    /// state.
    ///
    /// # Errors
    /// When the runtime rejects the selector.
    pub fn on_text(
        self,
        selector: &str,
        edit: TextEdit,
        state: &PageState,
    ) -> Result<Self, JsValue> {
        let text: Function = match edit {
            TextEdit::DropBlockedScript => DROP_BLOCKED_SCRIPT.with(|c| bind(c.as_ref(), &state.0)),
            TextEdit::MarkOwnInlineTag => MARK_INLINE.with(|c| bind(c.as_ref(), &state.0)),
        };
        self.with_handler(selector, "text", &text)
    }

    /// At the document's end, inserts what an [`Edit::Body`] handler with the same state
    /// could not (a page without `<body>` or `</body>`).
    ///
    /// # Errors
    /// Only if the runtime refuses the handler.
    pub fn finish_body(self, state: &PageState) -> Result<Self, JsValue> {
        let end = DOCUMENT_END.with(|c| bind(c.as_ref(), &state.0));
        let handlers = Object::new();
        Reflect::set(&handlers, &JsValue::from_str("end"), &end)?;
        Ok(Self {
            inner: self.inner.on_document(&handlers)?,
        })
    }

    fn with_handler(self, selector: &str, kind: &str, handler: &Function) -> Result<Self, JsValue> {
        let handlers = Object::new();
        Reflect::set(&handlers, &JsValue::from_str(kind), handler)?;
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

impl PageState {
    /// The state as a value to hand to [`HtmlRewriter::on`].
    pub fn as_value(&self) -> &JsValue {
        &self.0
    }
}

/// `closure` with its first argument fixed to `data`: a plain JavaScript function that the
/// garbage collector frees with the response.
fn bind(closure: &JsValue, data: &JsValue) -> Function {
    closure
        .unchecked_ref::<Function>()
        .bind1(&JsValue::NULL, data)
        .unchecked_into()
}

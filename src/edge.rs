//! The proxy path as the JavaScript entry (`src/js/entry.mjs`) calls it: a few synchronous
//! calls per request, each making the decisions of one step, with the asynchronous I/O (the
//! origin's fetch and its timeout) and the streaming rewriter left to JavaScript, outside
//! wasm-bindgen's promise and future glue.
//!
//! Per page: [`page_for`] reads the request and verifies the consent cookie; [`Page::route`]
//! says in one number where it goes and whether it must change first ([`Page::outbound`]),
//! the entry building the origin's URL from [`origin_base`] (or [`Page::origin_url`] when the
//! request URL's tail is not exactly its path and query); [`Page::prepare`] decides everything about the origin's response from
//! the headers that matter (cookies, links, treatment, header changes, CSP, and the edits
//! the rewriter places);
//! [`Page::finish`] writes the log line and counts the page view. While the page streams,
//! the rewriter's handlers ask [`blocked_element`], [`inline_step`] and [`loads_tag`] about
//! the elements and scripts the selectors of [`selectors`] match.

use crate::config::config;
use crate::error::WorkerError;
use crate::proxy::{outbound, outbound_changes, prepare, Edits, HeaderEdit, OriginHead, Prepared};
use crate::{error, log_line, stats, visit_of, RequestFacts, Visit};
use consent_core::config::{Config, Origin};
use consent_core::consent::Choices;
use consent_core::failure::Failure;
use consent_core::gate::{
    blocked_hosts, is_blocked, loads_google_tag, ChunkAction, InlineGate, MATCH_OVERLAP,
    OWN_TAG_ELEMENTS, OWN_TAG_INLINE, STRIP_ELEMENTS, STRIP_INLINE,
};
use consent_core::log::Level;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{Headers, Request, Response};
use worker::{Context, Env};

/// How long the origin may take to send its response head; the body then streams at its
/// own pace. Past this the visitor gets a clear 504 page rather than a spinning tab.
pub const ORIGIN_HEAD_TIMEOUT_MS: u32 = 20_000;

/// One proxied request, from its arrival to its log line. Owned by the entry, which frees it.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Page {
    visit: Visit,
    config: Rc<Config>,
    edits: Option<Edits>,
    header_edits: Vec<HeaderEdit>,
    refusal: Option<Response>,
    level: Level,
    error: Option<String>,
}

/// Reads a request once: the entry hands over its URL, method, the headers the worker uses
/// and the country as one string (`facts`, the fields joined by newlines, which none of them
/// can hold: one crossing, one copy; an absent header is empty), with the `Headers` for the
/// rare others. The consent cookie is verified here (no KV read). `now` is the arrival time
/// (ms since the epoch).
#[wasm_bindgen(js_name = pageFor)]
#[must_use]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // Date.now(): a whole, positive number of ms
pub fn page_for(env: &JsValue, now: f64, headers: Headers, facts: &str) -> Page {
    let now = now as u64;
    let env: Env = env.clone().unchecked_into();
    let config = config(&env, now);
    let mut fields = facts.split('\n');
    let mut next = || fields.next().unwrap_or_default().to_owned();
    let (url, method) = (next(), next());
    let mut optional = || Some(next()).filter(|v| !v.is_empty());
    let facts = RequestFacts {
        url,
        method,
        cookie: optional(),
        accept_language: optional(),
        sec_gpc: optional(),
        accept_encoding: optional(),
        client_ip: optional(),
        user_agent: optional(),
        country: optional(),
    };
    Page {
        visit: visit_of(facts, headers, &config, now),
        config,
        edits: None,
        header_edits: Vec::new(),
        refusal: None,
        level: Level::Info,
        error: None,
    }
}

/// [`Page::route`]'s offset when the page's URL at the origin is not the base followed by
/// the request URL's tail (an empty path or a bare `?`, which the origin URL normalises).
pub const ROUTE_NO_OFFSET: u32 = (1 << 28) - 1;

/// [`ROUTE_NO_OFFSET`], for the entry.
#[wasm_bindgen(js_name = routeNoOffset)]
#[must_use]
pub fn route_no_offset() -> u32 {
    ROUTE_NO_OFFSET
}

/// The configured origin's base URL (`ORIGIN_URL`), if the site is fetched from one: with
/// [`Page::route`]'s offset the entry builds each page's URL itself, without a crossing.
#[wasm_bindgen(js_name = originBase)]
#[must_use]
pub fn origin_base(env: &JsValue) -> Option<String> {
    let env: Env = env.clone().unchecked_into();
    match &config(&env, crate::platform::now_ms()).origin {
        Origin::Url(base) => Some(base.clone()),
        Origin::Demo | Origin::Route => None,
    }
}

/// What an origin failure was, as the entry reports it to [`Page::fail`].
const ORIGIN_TIMEOUT: u8 = 0;
const ORIGIN_UNREACHABLE: u8 = 1;
const ORIGIN_MISCONFIGURED: u8 = 2;

#[wasm_bindgen]
impl Page {
    /// Where the request goes, in one number: bit 0 set for a path under `/_consent` (the
    /// entry hands it to the asynchronous handler); bits 1–2 the origin, 0 the bundled demo
    /// site (`ASSETS`), 1 the route's own origin (the request as it is), 2 the configured
    /// URL ([`origin_base`] followed by the page's path and query); bit 3 set when the
    /// request must change before it goes ([`Page::outbound`]); bits 4–31 where the path
    /// and query start in the request's URL, or [`ROUTE_NO_OFFSET`] when the URL's tail is
    /// not exactly them (then [`Page::origin_url`] says).
    #[must_use]
    pub fn route(&self) -> u32 {
        let kind = match self.config.origin {
            Origin::Demo => 0,
            Origin::Route => 1,
            Origin::Url(_) => 2,
        };
        let url = &self.visit.url;
        // Where `path_and_query()` starts, if the URL ends with it (no copy on this path).
        let offset = url
            .strip_suffix(self.visit.search.as_str())
            .and_then(|head| head.strip_suffix(self.visit.path.as_str()))
            .filter(|_| url.is_ascii())
            .and_then(|head| u32::try_from(head.len()).ok())
            .filter(|&o| o < ROUTE_NO_OFFSET)
            .unwrap_or(ROUTE_NO_OFFSET);
        u32::from(self.visit.is_own_route)
            | kind << 1
            | u32::from(outbound_changes(&self.visit)) << 3
            | offset << 4
    }

    /// The page's URL at a configured origin.
    #[wasm_bindgen(js_name = originUrl)]
    #[must_use]
    pub fn origin_url(&self) -> Option<String> {
        match &self.config.origin {
            Origin::Url(base) => Some(format!("{base}{}", self.visit.path_and_query())),
            Origin::Demo | Origin::Route => None,
        }
    }

    /// The request to send the origin, when [`Page::route`] says it must change: cookies the
    /// visitor has not allowed or encodings the rewriter cannot read go.
    ///
    /// # Errors
    /// Only if the runtime refuses to copy the request.
    pub fn outbound(&self, request: &Request) -> Result<Request, JsValue> {
        outbound(request, &self.visit)
    }

    /// Decides what the visitor gets for the origin's response, from its status and the
    /// headers that matter (read by the entry): 0 the response as it came; 1 the response
    /// with [`Page::header_edits`]; 2 the same, streamed through the rewriter with the
    /// getters' edits; 3 not sent: [`Page::refusal`] is the answer (an HTML page that
    /// cannot be gated).
    ///
    /// # Errors
    /// Only if the runtime cannot build the refusal's response.
    ///
    /// `head` is `Content-Type`, `Content-Encoding`, `Link`, `Content-Security-Policy` and
    /// `Content-Security-Policy-Report-Only` joined by newlines (absent: empty), as for
    /// [`page_for`]; `set_cookies` every `Set-Cookie`, if any.
    pub fn prepare(
        &mut self,
        status: u16,
        head: &str,
        set_cookies: Option<Vec<String>>,
    ) -> Result<u8, JsValue> {
        let mut fields = head.split('\n');
        let mut next = || {
            Some(fields.next().unwrap_or_default())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let head = OriginHead {
            status,
            content_type: next(),
            content_encoding: next(),
            link: next(),
            csp: next(),
            csp_report_only: next(),
            set_cookies: set_cookies.unwrap_or_default(),
        };
        match prepare(&head, &self.visit, &self.config) {
            Ok(Prepared::Send(edits)) => {
                let changed = !edits.is_empty();
                self.header_edits = edits;
                Ok(u8::from(changed))
            }
            Ok(Prepared::Rewrite(header_edits, edits)) => {
                self.header_edits = header_edits;
                self.edits = Some(edits);
                Ok(2)
            }
            Err(failure) => {
                self.refusal = Some(self.answer(&failure.into())?);
                Ok(3)
            }
        }
    }

    /// The header changes [`Page::prepare`] decided, as one string: operation (`set`,
    /// `append` or `delete`), name and value, each followed by a newline (no header value can
    /// hold one): one crossing however many changes.
    #[wasm_bindgen(js_name = headerEdits)]
    #[must_use]
    pub fn header_edits(&self) -> String {
        let mut flat = String::new();
        for edit in &self.header_edits {
            let (op, name, value) = match edit {
                HeaderEdit::Set(name, value) => ("set", *name, value.as_str()),
                HeaderEdit::Append(name, value) => ("append", *name, value.as_str()),
                HeaderEdit::Delete(name) => ("delete", *name, ""),
            };
            for field in [op, name, value] {
                flat.push_str(field);
                flat.push('\n');
            }
        }
        flat
    }

    /// The answer to send instead of the origin's (after [`Page::prepare`] said 3).
    #[must_use]
    pub fn refusal(&mut self) -> Option<Response> {
        self.refusal.take()
    }

    /// The answer when the origin gave no response: `why` is 0 (timed out), 1 (unreachable)
    /// or 2 (misconfigured), `detail` is for the log.
    ///
    /// # Errors
    /// Only if the runtime cannot build a response at all.
    pub fn fail(&mut self, why: u8, detail: String) -> Result<Response, JsValue> {
        let failure = match why {
            ORIGIN_TIMEOUT => Failure::OriginTimeout,
            ORIGIN_UNREACHABLE => Failure::OriginUnreachable(detail),
            ORIGIN_MISCONFIGURED => Failure::OriginUnreachable(format!("misconfigured: {detail}")),
            _ => Failure::Internal(detail),
        };
        self.edits = None;
        self.answer(&failure.into())
    }

    fn answer(&mut self, error: &WorkerError) -> Result<Response, JsValue> {
        let served = error::answer(error, &self.visit)?;
        self.level = served.level;
        self.error = served.error;
        Ok(served.response)
    }

    /// The visitor's choices for the rewriter's questions: bit 0 analytics, bit 1 marketing.
    #[must_use]
    pub fn choices(&self) -> u8 {
        self.edits.as_ref().map_or(0, |e| choice_bits(e.choices))
    }

    /// True when the origin's own tags the visitor has not allowed are stripped.
    #[must_use]
    pub fn strip(&self) -> bool {
        self.edits.as_ref().is_some_and(|e| e.strip)
    }

    /// Consent Mode's script, first in `<head>`.
    #[wasm_bindgen(js_name = consentMode)]
    #[must_use]
    pub fn consent_mode(&mut self) -> Option<String> {
        self.edits.as_mut().and_then(|e| e.consent_mode.take())
    }

    /// The tag loaders for the end of `<head>`.
    #[must_use]
    pub fn loaders(&mut self) -> Option<String> {
        self.edits.as_mut().and_then(|e| e.loaders.take())
    }

    /// GTM's noscript frame after `<body>`.
    #[must_use]
    pub fn noscript(&mut self) -> Option<String> {
        self.edits.as_mut().and_then(|e| e.noscript.take())
    }

    /// The banner, first in `<body>`.
    #[must_use]
    pub fn banner(&mut self) -> Option<String> {
        self.edits.as_mut().and_then(|e| e.banner.take())
    }

    /// The settings link, last in `<body>`.
    #[must_use]
    pub fn link(&self) -> JsValue {
        self.edits
            .as_ref()
            .map_or(JsValue::UNDEFINED, |e| e.link.clone())
    }

    /// Writes the request's log line (`status` is the response's, `now` the time its head
    /// was ready, `Date.now()`: read by the entry, not through an import) and counts a
    /// rewritten page view for the dashboard (written to D1 after the response, through
    /// `ctx`).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // Date.now(): a whole, positive number of ms
    pub fn finish(&self, status: u16, now: f64, env: &JsValue, ctx: &JsValue) {
        log_line(
            &self.visit,
            status,
            self.level,
            self.error.as_deref(),
            None,
            now as u64,
        );
        if self.edits.is_some() {
            let env: Env = env.clone().unchecked_into();
            let ctx = Context::new(ctx.clone().unchecked_into());
            stats::count(
                stats::Tally::PageView,
                &self.visit,
                &self.config,
                &env,
                &ctx,
            );
        }
    }
}

fn choice_bits(choices: Choices) -> u8 {
    u8::from(choices.analytics) | (u8::from(choices.marketing) << 1)
}

fn choices_of(bits: u8) -> Choices {
    Choices {
        analytics: bits & 1 != 0,
        marketing: bits & 2 != 0,
    }
}

/// The rewriter's selectors: the elements that can load something, the inline scripts and
/// noscripts judged by [`inline_step`], the origin's own tag loaders, and the inline scripts
/// in `<head>` that may load the tag themselves.
#[wasm_bindgen]
#[must_use]
pub fn selectors() -> Vec<String> {
    [
        STRIP_ELEMENTS,
        STRIP_INLINE,
        OWN_TAG_ELEMENTS,
        OWN_TAG_INLINE,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// How much of the text before a chunk is checked with it (UTF-16 units).
#[wasm_bindgen(js_name = matchOverlap)]
#[must_use]
pub fn match_overlap() -> u32 {
    u32::try_from(MATCH_OVERLAP).unwrap_or(u32::MAX)
}

/// How long the origin may take to send its response head, in milliseconds.
#[wasm_bindgen(js_name = originTimeoutMs)]
#[must_use]
pub fn origin_timeout_ms() -> u32 {
    ORIGIN_HEAD_TIMEOUT_MS
}

/// True when an element loads a host the visitor's `choices` block: `values` is every
/// attribute value of the element, each followed by a newline (no host name holds one, so
/// no match spans two values).
#[wasm_bindgen(js_name = blockedElement)]
#[must_use]
pub fn blocked_element(values: &str, choices: u8) -> bool {
    is_blocked(values, blocked_hosts(choices_of(choices)))
}

/// An [`InlineGate`] packed in a `u32` between the rewriter's calls: `held` in bits 0–23,
/// `streaming` bit 24, `dropping` bit 25; the answer's [`ChunkAction`] in bits 28–29.
const HELD_MASK: u32 = 0x00ff_ffff;
const STREAMING: u32 = 1 << 24;
const DROPPING: u32 = 1 << 25;
const ACTION_SHIFT: u32 = 28;

/// Judges the next chunk of an inline script (`consent_core::gate::InlineGate::next`):
/// `window` is the chunk preceded by up to [`match_overlap`] units of the text before it,
/// `chunk_len` the chunk's length, `last` whether it ends the script, `gate` the packed
/// state the previous call returned (0 for a new script). Returns the new packed state with
/// the action: 0 hold, 1 drop, 2 pass, 3 replace with the held text and the chunk.
#[wasm_bindgen(js_name = inlineStep)]
#[must_use]
pub fn inline_step(window: &str, chunk_len: u32, last: bool, gate: u32, choices: u8) -> u32 {
    let mut state = InlineGate {
        held: (gate & HELD_MASK) as usize,
        streaming: gate & STREAMING != 0,
        dropping: gate & DROPPING != 0,
    };
    let action = state.next(
        window,
        chunk_len as usize,
        last,
        blocked_hosts(choices_of(choices)),
    );
    let held = u32::try_from(state.held).unwrap_or(HELD_MASK) & HELD_MASK;
    let action = match action {
        ChunkAction::Hold => 0,
        ChunkAction::Drop => 1,
        ChunkAction::Pass => 2,
        ChunkAction::ReleaseHeld => 3,
    };
    held | if state.streaming { STREAMING } else { 0 }
        | if state.dropping { DROPPING } else { 0 }
        | (action << ACTION_SHIFT)
}

/// True when an inline script (its window, as for [`inline_step`]) loads Google's tag.
#[wasm_bindgen(js_name = loadsTag)]
#[must_use]
pub fn loads_tag(window: &str) -> bool {
    loads_google_tag(window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use consent_core::gate::MAX_HELD_SCRIPT;

    #[test]
    fn the_packed_gate_holds_every_state_the_gate_can_reach() {
        assert!(u32::try_from(MAX_HELD_SCRIPT).is_ok_and(|m| m <= HELD_MASK));
        let held = inline_step("var a = 1;", 10, false, 0, 0);
        assert_eq!(held >> ACTION_SHIFT, 0, "a first chunk is held");
        assert_eq!(held & HELD_MASK, 10);
        let dropped = inline_step(
            "x('https://www.googletagmanager.com/gtm.js')",
            40,
            false,
            held & !(3 << ACTION_SHIFT),
            0,
        );
        assert_eq!(dropped >> ACTION_SHIFT, 1, "a blocked host drops the chunk");
        assert_ne!(dropped & DROPPING, 0);
        let end = inline_step("y", 1, true, dropped & !(3 << ACTION_SHIFT), 0);
        assert_eq!(end >> ACTION_SHIFT, 1);
        assert_eq!(
            end & !(3 << ACTION_SHIFT),
            0,
            "the gate resets after the last chunk"
        );
        let all = choice_bits(Choices::ALL);
        assert_eq!(
            inline_step(
                "x('https://www.googletagmanager.com/gtm.js')",
                40,
                true,
                0,
                all
            ) >> ACTION_SHIFT,
            2,
            "nothing is blocked with everything granted"
        );
    }

    #[test]
    fn attribute_values_are_judged_whole_and_never_across_a_newline() {
        assert!(blocked_element(
            "a.js\nhttps://www.google-analytics.com/x\n",
            0
        ));
        assert!(!blocked_element("https://www.google-analytics.com/x\n", 1));
        assert!(!blocked_element("googletagmanager\n.com\n", 0));
    }
}

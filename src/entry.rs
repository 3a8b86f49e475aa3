//! The calls the JavaScript entry (`src/js/entry.mjs`) makes into wasm, in the protocol of
//! [`crate::protocol`]: a few synchronous calls per request, each making the decisions of one
//! step, with the asynchronous I/O (the origin's fetch and its timeout) and the streaming
//! rewriter left to JavaScript, outside wasm-bindgen's promise and future glue.
//!
//! Per request: [`page_for`] reads it once ([`Visit::read`], the consent cookie verified);
//! [`Page::route`] says in one number where it goes. The worker's own routes are answered by
//! [`Page::own`] (asynchronous: KV, D1, the request body). A page of the site: the entry builds
//! the origin's URL from [`origin_base`] (or [`Page::origin_url`]), sends [`Page::outbound`]
//! when the route says the request must change, and [`Page::prepare`] decides everything about
//! the origin's response from the headers that matter (cookies, links, treatment, header
//! changes, CSP, and the edits the rewriter places). Either way [`Page::finish`] writes the
//! one log line and makes the one statistics call. While a page streams, the rewriter's
//! handlers ask [`blocked_element`], [`inline_step`] and [`loads_tag`] about the elements and
//! scripts the protocol's selectors match.

use crate::config::config;
use crate::dashboard::stats::{self, Tally};
use crate::failure::{self, WorkerError};
use crate::gate::{
    outbound, outbound_changes, prepare, sniffed, Edits, HeaderEdit, OriginHead, Prepared,
};
use crate::platform::RuntimeUrl;
use crate::protocol::{
    fields, Chunk, OriginFailure, OriginKind, Prepared as Answer, ACTION_SHIFT, CHOICE_ANALYTICS,
    CHOICE_MARKETING, DROPPING, FIELD_SEPARATOR, FILTERING, HELD_MASK, NO_OFFSET, OFFSET_SHIFT,
    ORIGIN_SHIFT, PREPARED_GUNZIP, ROUTE_CHANGED, ROUTE_OWN, STREAMING,
};
use crate::served::{Outcome, Served};
use crate::visit::Visit;
use crate::{log, router};
use consent_core::config::{Config, Origin};
use consent_core::consent::Choices;
use consent_core::failure::Failure;
use consent_core::gate::elements::{edit_call, judge_element};
use consent_core::gate::{blocked_rules, loads_google_tag, InlineGate};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{Headers, Request, Response};
use worker::{Context, Env};

/// One request, from its arrival to its log line. Owned by the entry, which frees it.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Page {
    visit: Rc<Visit>,
    config: Rc<Config>,
    edits: Option<Edits>,
    header_edits: Vec<HeaderEdit>,
    /// What [`Page::sniffed`] needs of the origin's response, after [`Answer::Sniff`].
    sniffing: Option<Sniffing>,
    refusal: Option<Response>,
    /// What the log line and the statistics say; shared with [`Page::own`]'s future.
    outcome: Rc<RefCell<Outcome>>,
}

/// A response left to be sniffed: its head, the header changes decided so far, and whether
/// the entry decodes its body as gzip.
#[derive(Debug)]
struct Sniffing {
    head: OriginHead,
    edits: Vec<HeaderEdit>,
    gunzip: bool,
}

/// Reads a request once: the entry hands over its URL, method, the headers of
/// [`crate::protocol::REQUEST_HEADERS`] and the country as one string (`facts`, joined as the
/// protocol says: one crossing, one copy), with the `Headers` for the rare others. `now` is
/// the arrival time (ms since the epoch).
#[wasm_bindgen(js_name = pageFor)]
#[must_use]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // Date.now(): a whole, positive number of ms
pub fn page_for(env: &JsValue, now: f64, headers: Headers, facts: &str) -> Page {
    let now = now as u64;
    let env: Env = env.clone().unchecked_into();
    let config = config(&env, now);
    Page {
        visit: Rc::new(Visit::read(facts, headers, &config, now)),
        config,
        edits: None,
        header_edits: Vec::new(),
        sniffing: None,
        refusal: None,
        outcome: Rc::default(),
    }
}

/// The Cron Trigger's run at `scheduled_time` (ms since the epoch): the daily summary and the
/// alerts (`crate::alerts`). Never rejects: every failure is logged. Not named `scheduled`:
/// worker-build's glue takes an export of that name for its own handler.
#[wasm_bindgen(js_name = runScheduled)]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a whole, positive number of ms
pub fn scheduled(env: &JsValue, scheduled_time: f64) -> js_sys::Promise {
    let env: Env = env.clone().unchecked_into();
    wasm_bindgen_futures::future_to_promise(async move {
        crate::alerts::run(&env, scheduled_time as u64).await;
        Ok(JsValue::UNDEFINED)
    })
}

/// The configured origin's base URL (`ORIGIN_URL`), if the site is fetched from one: with
/// [`Page::route`]'s offset the entry builds each page's URL itself, without a crossing.
#[wasm_bindgen(js_name = originBase)]
#[must_use]
pub fn origin_base(env: &JsValue) -> Option<String> {
    let env: Env = env.clone().unchecked_into();
    match &config(&env, crate::platform::now_ms()).origin {
        Origin::Url(base) => Some(base.clone()),
        Origin::Demo | Origin::Route | Origin::Unset => None,
    }
}

#[wasm_bindgen]
impl Page {
    /// Where the request goes, in one number laid out as [`crate::protocol`] says:
    /// [`ROUTE_OWN`] for a path under `/_consent` ([`Page::own`]); the [`OriginKind`] from
    /// [`ORIGIN_SHIFT`]; [`ROUTE_CHANGED`] when the request must change before it goes
    /// ([`Page::outbound`]); from [`OFFSET_SHIFT`], where the path and query start in the
    /// request's URL, or [`NO_OFFSET`] when the URL's tail is not exactly them (then
    /// [`Page::origin_url`] says).
    #[must_use]
    pub fn route(&self) -> u32 {
        let kind = match self.config.origin {
            Origin::Demo => OriginKind::Demo,
            // Never fetched: `serves` below sends the request to the router, which answers
            // 503 for a page.
            Origin::Route | Origin::Unset => OriginKind::Route,
            Origin::Url(_) => OriginKind::Url,
        };
        let visit = &self.visit;
        let url = &visit.url;
        // Where `path_and_query()` starts, if the URL ends with it (no copy on this path).
        let offset = url
            .strip_suffix(visit.search.as_str())
            .and_then(|head| head.strip_suffix(visit.path.as_str()))
            .filter(|_| url.is_ascii())
            .and_then(|head| u32::try_from(head.len()).ok())
            .filter(|&o| o < NO_OFFSET)
            .unwrap_or(NO_OFFSET);
        // A page with no origin to serve it from (ORIGIN_URL unset, or the demo reached off
        // loopback) is answered by the router too: 503, never the demo site.
        let own = if visit.is_own_route || !self.config.origin.serves(&visit.host) {
            ROUTE_OWN
        } else {
            0
        };
        let changed = if outbound_changes(visit) {
            ROUTE_CHANGED
        } else {
            0
        };
        own | u32::from(kind.code()) << ORIGIN_SHIFT | changed | offset << OFFSET_SHIFT
    }

    /// Answers a request for one of the worker's own routes (`/_consent/…`), which wait on
    /// KV, D1 and the request body; its outcome is kept for [`Page::finish`].
    pub fn own(&self, request: Request, env: JsValue) -> js_sys::Promise {
        let (visit, config, outcome) = (
            Rc::clone(&self.visit),
            Rc::clone(&self.config),
            Rc::clone(&self.outcome),
        );
        wasm_bindgen_futures::future_to_promise(async move {
            let env: Env = env.unchecked_into();
            let served = match router::handle(&request, &env, &config, &visit).await {
                Ok(served) => served,
                Err(error) => failure::answer(&error, &visit)?,
            };
            *outcome.borrow_mut() = served.outcome;
            Ok(served.response.into())
        })
    }

    /// The page's URL at a configured origin.
    #[wasm_bindgen(js_name = originUrl)]
    #[must_use]
    pub fn origin_url(&self) -> Option<String> {
        match &self.config.origin {
            Origin::Url(base) => Some(format!("{base}{}", self.visit.path_and_query())),
            Origin::Demo | Origin::Route | Origin::Unset => None,
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

    /// Decides what the visitor gets for the origin's response ([`Answer`]'s code, with
    /// [`PREPARED_GUNZIP`] when the entry decodes the body as gzip first), from its status
    /// and the headers of [`crate::protocol::RESPONSE_HEADERS`] joined as the protocol says
    /// (`head`); `set_cookies` is every `Set-Cookie`, if any. [`Answer::Sniff`]: the body's
    /// first bytes decide ([`Page::sniffed`]).
    ///
    /// # Errors
    /// Only if the runtime cannot build the refusal's response.
    pub fn prepare(
        &mut self,
        status: u16,
        head: &str,
        set_cookies: Option<Vec<String>>,
    ) -> Result<u8, JsValue> {
        // The order of crate::protocol::RESPONSE_HEADERS.
        let [content_type, content_encoding, link, csp, csp_report_only] =
            fields::<5>(head).map(|f| f.map(str::to_owned));
        let head = OriginHead {
            status,
            content_type,
            content_encoding,
            link,
            csp,
            csp_report_only,
            set_cookies: set_cookies.unwrap_or_default(),
        };
        let prepared = prepare(&head, &self.visit, &self.config);
        if let Ok(Prepared::Sniff(edits, gunzip)) = prepared {
            self.sniffing = Some(Sniffing {
                head,
                edits,
                gunzip,
            });
            return Ok(Answer::Sniff.code() | if gunzip { PREPARED_GUNZIP } else { 0 });
        }
        self.settle(prepared)
    }

    /// What the visitor gets for a response [`Page::prepare`] left to be sniffed, answered as
    /// it answers (never [`Answer::Sniff`] again): `prefix` is the body's first bytes (as the
    /// entry decoded them), up to [`consent_core::gate::rewrite::SNIFF_BYTES`] or the whole
    /// of a shorter body.
    ///
    /// # Errors
    /// As [`Page::prepare`]'s.
    pub fn sniffed(&mut self, prefix: &[u8]) -> Result<u8, JsValue> {
        let prepared = match self.sniffing.take() {
            Some(Sniffing {
                head,
                edits,
                gunzip,
            }) => sniffed(&head, edits, gunzip, prefix, &self.visit, &self.config),
            None => Err(Failure::Internal(
                "Page.sniffed without a response to sniff".to_owned(),
            )),
        };
        self.settle(prepared)
    }

    fn settle(&mut self, prepared: Result<Prepared, Failure>) -> Result<u8, JsValue> {
        let answer = match prepared {
            Ok(Prepared::Send(edits)) => {
                let changed = !edits.is_empty();
                self.header_edits = edits;
                if changed {
                    Answer::WithHeaders
                } else {
                    Answer::AsIs
                }
            }
            Ok(Prepared::Rewrite(header_edits, edits)) => {
                let gunzip = if edits.gunzip { PREPARED_GUNZIP } else { 0 };
                self.header_edits = header_edits;
                self.edits = Some(edits);
                self.outcome.borrow_mut().tally = Tally::PageView;
                return Ok(Answer::Rewrite.code() | gunzip);
            }
            // `prepare` answers it; `sniffed` never gets it.
            Ok(Prepared::Sniff(..)) => {
                let failure = Failure::Internal("a response sniffed twice".to_owned());
                self.refusal = Some(self.answer(&failure.into())?);
                Answer::Refused
            }
            Err(failure) => {
                self.refusal = Some(self.answer(&failure.into())?);
                Answer::Refused
            }
        };
        Ok(answer.code())
    }

    /// The header changes [`Page::prepare`] decided, as one string: operation (`set`,
    /// `append` or `delete`, the `Headers` method's name), name and value, each followed by
    /// the protocol's separator (no header value can hold one): one crossing however many
    /// changes.
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
                flat.push(FIELD_SEPARATOR);
            }
        }
        flat
    }

    /// The answer to send instead of the origin's (after [`Page::prepare`] said
    /// [`Answer::Refused`]).
    #[must_use]
    pub fn refusal(&mut self) -> Option<Response> {
        self.refusal.take()
    }

    /// The answer when the origin gave no response: `why` is an [`OriginFailure`]'s code,
    /// `detail` is for the log.
    ///
    /// # Errors
    /// Only if the runtime cannot build a response at all.
    pub fn fail(&mut self, why: u8, detail: String) -> Result<Response, JsValue> {
        let failure = match OriginFailure::from_code(why) {
            Some(OriginFailure::Timeout) => Failure::OriginTimeout,
            Some(OriginFailure::Unreachable) => Failure::OriginUnreachable(detail),
            Some(OriginFailure::Misconfigured) => {
                Failure::OriginUnreachable(format!("misconfigured: {detail}"))
            }
            Some(OriginFailure::Internal) => Failure::Internal(detail),
            None => Failure::Internal(format!("origin failure with unknown code {why}: {detail}")),
        };
        self.edits = None;
        self.answer(&failure.into())
    }

    fn answer(&mut self, error: &WorkerError) -> Result<Response, JsValue> {
        let Served { response, outcome } = failure::answer(error, &self.visit)?;
        *self.outcome.borrow_mut() = outcome;
        Ok(response)
    }

    /// The visitor's choices for the rewriter's questions ([`CHOICE_ANALYTICS`],
    /// [`CHOICE_MARKETING`]), which the entry hands back unread.
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

    /// The stylesheets of the banner and the settings link, in `<head>` (first in `<body>`
    /// when the page has no `<head>`).
    #[must_use]
    pub fn style(&mut self) -> Option<String> {
        self.edits.as_mut().and_then(|e| e.style.take())
    }

    /// The settings link, last in `<body>`.
    #[must_use]
    pub fn link(&self) -> JsValue {
        self.edits
            .as_ref()
            .map_or(JsValue::UNDEFINED, |e| e.link.clone())
    }

    /// The request's one log line and its one statistics call, whichever path served it:
    /// `status` is the response's, `now` the time its head was ready (`Date.now()`, read by
    /// the entry, not through an import). What is counted (a rewritten page that is a page
    /// view or a page counted apart, a decision, refused dashboard requests) is written to D1
    /// after the response, through `ctx`.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // Date.now(): a whole, positive number of ms
    pub fn finish(&self, status: u16, now: f64, env: &JsValue, ctx: &JsValue) {
        let outcome = self.outcome.borrow();
        log::request_line(&self.visit, status, &outcome, now as u64);
        if outcome.tally != Tally::Nothing {
            let env: Env = env.clone().unchecked_into();
            let ctx = Context::new(ctx.clone().unchecked_into());
            stats::count(
                outcome.tally.clone(),
                status,
                now as u64,
                &self.visit,
                &self.config,
                &env,
                &ctx,
            );
        }
        // Refused dashboard requests counted in this isolate are written when their minute ends.
        crate::dashboard::schedule_counted(now as u64, env, ctx);
    }
}

fn choice_bits(choices: Choices) -> u8 {
    let bit = |granted: bool, bit: u8| if granted { bit } else { 0 };
    bit(choices.analytics, CHOICE_ANALYTICS) | bit(choices.marketing, CHOICE_MARKETING)
}

fn choices_of(bits: u8) -> Choices {
    Choices {
        analytics: bits & CHOICE_ANALYTICS != 0,
        marketing: bits & CHOICE_MARKETING != 0,
    }
}

/// What the page does with an element the protocol's `stripElements` selector matched, under
/// the visitor's `choices`: `facts` is its tag name, then each attribute's name and value as
/// the rewriter hands them over (undecoded), joined by the protocol's separator (one inside a
/// value is sent as `separatorInValue`). The answer is empty when the element stays as it is;
/// otherwise `Element` method calls (`remove`, `removeAttribute`, `setAttribute`), each as
/// method, name and value followed by the separator, as [`Page::header_edits`] writes them.
#[wasm_bindgen(js_name = elementEdits)]
#[must_use]
pub fn element_edits(facts: &str, choices: u8) -> String {
    let mut fields = facts.split(FIELD_SEPARATOR);
    let tag = fields.next().unwrap_or_default().to_ascii_lowercase();
    let mut attributes = Vec::new();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        attributes.push((name, value));
    }
    let edits = judge_element(
        &tag,
        &attributes,
        blocked_rules(choices_of(choices)),
        &RuntimeUrl,
    );
    let mut flat = String::new();
    for edit in &edits {
        let (method, name, value) = edit_call(edit);
        for field in [method, name, value] {
            flat.push_str(field);
            flat.push(FIELD_SEPARATOR);
        }
    }
    flat
}

/// Judges the next chunk of an inline script or stylesheet
/// (`consent_core::gate::InlineGate::next`): `window` is the chunk preceded by up to the
/// protocol's `matchOverlap` units of the text before it, `chunk_len` the chunk's length,
/// `last` whether it ends the text, `gate` the packed state the previous call returned (the
/// protocol's `scriptStart` or `styleStart` for a new text). Returns the new packed state
/// ([`HELD_MASK`], [`STREAMING`], [`DROPPING`], [`FILTERING`]) with the [`Chunk`] from
/// [`ACTION_SHIFT`].
#[wasm_bindgen(js_name = inlineStep)]
#[must_use]
pub fn inline_step(window: &str, chunk_len: u32, last: bool, gate: u32, choices: u8) -> u32 {
    let mut state = InlineGate {
        held: (gate & HELD_MASK) as usize,
        streaming: gate & STREAMING != 0,
        dropping: gate & DROPPING != 0,
        filter: gate & FILTERING != 0,
    };
    let action = state.next(
        window,
        chunk_len as usize,
        last,
        blocked_rules(choices_of(choices)),
    );
    let held = u32::try_from(state.held).unwrap_or(HELD_MASK) & HELD_MASK;
    let bit = |on: bool, bit: u32| if on { bit } else { 0 };
    held | bit(state.streaming, STREAMING)
        | bit(state.dropping, DROPPING)
        | bit(state.filter, FILTERING)
        | (u32::from(Chunk::from(action).code()) << ACTION_SHIFT)
}

/// A stylesheet's text without what would load from a destination the visitor's `choices`
/// block (after `inlineStep` answered the protocol's `filter`).
#[wasm_bindgen(js_name = filterCss)]
#[must_use]
pub fn filter_css(css: &str, choices: u8) -> String {
    let rules = blocked_rules(choices_of(choices));
    consent_core::gate::elements::filter_css(css, rules).unwrap_or_else(|| css.to_owned())
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
    use crate::protocol::STATE_MASK;
    use consent_core::gate::MAX_HELD_SCRIPT;

    #[test]
    fn the_packed_gate_holds_every_state_the_gate_can_reach() {
        assert!(u32::try_from(MAX_HELD_SCRIPT).is_ok_and(|m| m <= HELD_MASK));
        let held = inline_step("var a = 1;", 10, false, 0, 0);
        assert_eq!(
            held >> ACTION_SHIFT,
            u32::from(Chunk::Hold.code()),
            "a first chunk is held"
        );
        assert_eq!(held & HELD_MASK, 10);
        let dropped = inline_step(
            "x('https://www.googletagmanager.com/gtm.js')",
            40,
            false,
            held & STATE_MASK,
            0,
        );
        assert_eq!(
            dropped >> ACTION_SHIFT,
            u32::from(Chunk::Drop.code()),
            "a blocked host drops the chunk"
        );
        assert_ne!(dropped & DROPPING, 0);
        let end = inline_step("y", 1, true, dropped & STATE_MASK, 0);
        assert_eq!(end >> ACTION_SHIFT, u32::from(Chunk::Drop.code()));
        assert_eq!(end & STATE_MASK, 0, "the gate resets after the last chunk");
        let all = choice_bits(Choices::ALL);
        assert_eq!(
            inline_step(
                "x('https://www.googletagmanager.com/gtm.js')",
                40,
                true,
                0,
                all
            ) >> ACTION_SHIFT,
            u32::from(Chunk::Pass.code()),
            "nothing is blocked with everything granted"
        );
    }

    #[test]
    fn element_edits_are_runtime_calls_judged_per_attribute_and_never_across_fields() {
        let nothing = 0;
        assert_eq!(
            element_edits("SCRIPT\nsrc\nhttps://www.google-analytics.com/x", nothing),
            "remove\n\n\n"
        );
        assert_eq!(
            element_edits(
                "script\nsrc\nhttps://www.google-analytics.com/x",
                CHOICE_ANALYTICS
            ),
            "",
            "analytics granted keeps GA4"
        );
        assert_eq!(
            element_edits(
                "img\nsrc\n/x.png\nonerror\nfetch('https://www.google-analytics.com/g')",
                nothing
            ),
            "removeAttribute\nonerror\n\n",
            "the image stays; its handler goes"
        );
        assert_eq!(
            element_edits("script\ndata-a\ngoogletagmanager\nsrc\n.com/x.js", nothing),
            "",
            "no match spans two fields"
        );
    }
}

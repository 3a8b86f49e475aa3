//! The protocol between the JavaScript entry (`src/js/entry.mjs`) and wasm, declared once,
//! here: every code, bit layout and field order the two sides exchange per request.
//!
//! The entry reads [`protocol`] once, when its module loads, and checks that every name it
//! uses is there with the right type: a build whose two halves disagree fails at load with a
//! message naming what is missing, not at some later request. The entry holds no number of
//! its own.

use consent_core::gate::rewrite::SNIFF_BYTES;
use consent_core::gate::{
    ChunkAction, MATCH_OVERLAP, OWN_TAG_ELEMENTS, OWN_TAG_INLINE, STRIP_ELEMENTS, STRIP_INLINE,
    STRIP_STYLE,
};
use serde_json::{json, Map, Value};
use wasm_bindgen::prelude::wasm_bindgen;

/// Declares an enum sent over the boundary as a number, its codes and the names the entry
/// knows them by, together: a new variant cannot be added without its code and its name.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal as $key:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $code,)+
        }

        impl $name {
            /// Every variant with the name the entry knows it by.
            pub const ALL: &'static [(&'static str, Self)] = &[$(($key, Self::$variant),)+];

            /// The variant a code sent by the entry stands for (only `OriginFailure` travels
            /// that way today; the tests read every enum back).
            #[must_use]
            #[allow(dead_code)]
            pub fn from_code(code: u8) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// Its code on the wire.
            #[must_use]
            pub fn code(self) -> u8 {
                self as u8
            }

            fn describe() -> Value {
                Value::Object(
                    Self::ALL
                        .iter()
                        .map(|(key, v)| ((*key).to_owned(), Value::from(v.code())))
                        .collect::<Map<_, _>>(),
                )
            }
        }
    };
}

wire_enum! {
    /// What `Page.prepare` decided the visitor gets for the origin's response.
    Prepared {
        /// The response as it came.
        AsIs = 0 as "asIs",
        /// The response with `Page.headerEdits`.
        WithHeaders = 1 as "withHeaders",
        /// The same, streamed through the rewriter with the page's edits.
        Rewrite = 2 as "rewrite",
        /// Not sent: `Page.refusal` is the answer (an HTML page that cannot be gated).
        Refused = 3 as "refused",
        /// The response has no type: the entry reads the body's first [`SNIFF_BYTES`] (or all
        /// of a shorter body) and `Page.sniffed` answers with them as `Page.prepare` does
        /// (never `sniff` again); the body then goes on with those bytes replayed first.
        Sniff = 4 as "sniff",
    }
}

/// `Page.prepare`'s answer: set beside a [`Prepared::Rewrite`] or [`Prepared::Sniff`] when
/// the entry first decodes the body as gzip (a gzip label the runtime leaves encoded).
pub const PREPARED_GUNZIP: u8 = 1 << 7;

wire_enum! {
    /// Why the origin gave no response, as the entry reports it to `Page.fail`.
    OriginFailure {
        /// No response head within [`ORIGIN_HEAD_TIMEOUT_MS`].
        Timeout = 0 as "timeout",
        /// The fetch failed.
        Unreachable = 1 as "unreachable",
        /// The configured origin cannot be reached as configured (no `ASSETS` binding).
        Misconfigured = 2 as "misconfigured",
        /// Anything else that went wrong while proxying.
        Internal = 3 as "internal",
    }
}

wire_enum! {
    /// Where a page is fetched from (`Page.route`, bits [`ORIGIN_SHIFT`]…).
    OriginKind {
        /// The bundled demo site (`ASSETS`).
        Demo = 0 as "demo",
        /// The route's own origin: the request as it is.
        Route = 1 as "route",
        /// The configured URL (`originBase` followed by the page's path and query).
        Url = 2 as "url",
    }
}

wire_enum! {
    /// What the entry does with a chunk of an inline script (`inlineStep`'s answer).
    Chunk {
        /// Hold it back until the script's end.
        Hold = 0 as "hold",
        /// Remove it for good.
        Drop = 1 as "drop",
        /// Let it through as it is.
        Pass = 2 as "pass",
        /// Replace it with everything held so far followed by itself.
        Release = 3 as "release",
        /// Replace it with `filterCss` of everything held so far followed by itself.
        Filter = 4 as "filter",
    }
}

impl From<ChunkAction> for Chunk {
    fn from(action: ChunkAction) -> Self {
        match action {
            ChunkAction::Hold => Self::Hold,
            ChunkAction::Drop => Self::Drop,
            ChunkAction::Pass => Self::Pass,
            ChunkAction::ReleaseHeld => Self::Release,
            ChunkAction::ReleaseFiltered => Self::Filter,
        }
    }
}

/// How long the origin may take to send its response head; the body then streams at its
/// own pace. Past this the visitor gets a clear 504 page rather than a spinning tab.
pub const ORIGIN_HEAD_TIMEOUT_MS: u32 = 20_000;

/// `Page.route`: set for a path under `/_consent` (the worker's own routes, `Page.own`).
pub const ROUTE_OWN: u32 = 1;
/// `Page.route`: where the [`OriginKind`] starts…
pub const ORIGIN_SHIFT: u32 = 1;
/// …and its mask once shifted.
pub const ORIGIN_MASK: u32 = 0b11;
/// `Page.route`: set when the request must change before it goes (`Page.outbound`).
pub const ROUTE_CHANGED: u32 = 1 << 3;
/// `Page.route`: where the offset of the path and query in the request's URL starts.
pub const OFFSET_SHIFT: u32 = 4;
/// `Page.route`'s offset when the page's URL at the origin is not the base followed by the
/// request URL's tail (an empty path or a bare `?`, which the origin URL normalises): the
/// entry then asks `Page.originUrl`.
pub const NO_OFFSET: u32 = (1 << (32 - OFFSET_SHIFT)) - 1;

/// `inlineStep`'s packed state: the bytes held in bits 0–23…
pub const HELD_MASK: u32 = 0x00ff_ffff;
/// …whether the script streams (bit 24)…
pub const STREAMING: u32 = 1 << 24;
/// …whether it is being dropped (bit 25)…
pub const DROPPING: u32 = 1 << 25;
/// …whether it is a stylesheet, filtered rather than dropped (bit 26)…
pub const FILTERING: u32 = 1 << 26;
/// …and the answer's [`Chunk`] from bit 28.
pub const ACTION_SHIFT: u32 = 28;
/// `inlineStep`'s state for a new inline script: nothing held.
pub const SCRIPT_START: u32 = 0;
/// …and for a new stylesheet: nothing held, filtered rather than dropped.
pub const STYLE_START: u32 = FILTERING;
/// The part of `inlineStep`'s answer the entry hands back on its next call.
pub const STATE_MASK: u32 = (1 << ACTION_SHIFT) - 1;

// The layouts checked when the crate compiles: no two parts of one number overlap, and every
// code fits its part.
const _: () = {
    assert!(ROUTE_OWN & (ORIGIN_MASK << ORIGIN_SHIFT) == 0);
    assert!((ORIGIN_MASK << ORIGIN_SHIFT) & ROUTE_CHANGED == 0);
    assert!(ROUTE_CHANGED < 1 << OFFSET_SHIFT);
    assert!(OriginKind::Url as u32 <= ORIGIN_MASK);
    assert!(NO_OFFSET << OFFSET_SHIFT >> OFFSET_SHIFT == NO_OFFSET);
    assert!(HELD_MASK & (STREAMING | DROPPING | FILTERING) == 0);
    assert!(STREAMING & DROPPING == 0 && (STREAMING | DROPPING) & FILTERING == 0);
    assert!((HELD_MASK | STREAMING | DROPPING | FILTERING) & !STATE_MASK == 0);
    assert!((Chunk::Filter as u32) < 1 << (32 - ACTION_SHIFT));
    assert!((Prepared::Sniff as u8) < PREPARED_GUNZIP);
};

/// `Page.choices` (handed back unread to `elementEdits`, `inlineStep` and `filterCss`): analytics
/// granted…
pub const CHOICE_ANALYTICS: u8 = 1;
/// …marketing granted.
pub const CHOICE_MARKETING: u8 = 1 << 1;

/// The request headers the entry reads for `pageFor`, in the order it joins them (after the
/// URL and method, before the country).
pub const REQUEST_HEADERS: [&str; 6] = [
    "cookie",
    "accept-language",
    "sec-gpc",
    "accept-encoding",
    "cf-connecting-ip",
    "user-agent",
];

/// The origin's response headers the entry reads for `Page.prepare`, in the order it joins
/// them.
pub const RESPONSE_HEADERS: [&str; 5] = [
    "content-type",
    "content-encoding",
    "link",
    "content-security-policy",
    "content-security-policy-report-only",
];

/// The separator of the joined fields: no URL, method, header value or country holds one.
pub const FIELD_SEPARATOR: char = '\n';

/// What the entry writes for a [`FIELD_SEPARATOR`] inside an attribute value it hands over
/// (`elementEdits`): a tab, which a URL parser drops and a script or CSS reads as space, like a
/// line feed.
pub const SEPARATOR_IN_VALUE: char = '\t';

/// The fields of a joined string (`pageFor`'s facts, `Page.prepare`'s head), each `None`
/// when empty, in the order they were joined.
pub fn fields<const N: usize>(joined: &str) -> [Option<&str>; N] {
    let mut parts = joined.split(FIELD_SEPARATOR);
    std::array::from_fn(|_| parts.next().filter(|v| !v.is_empty()))
}

/// The whole protocol as JSON, for the entry to read once when it loads.
#[wasm_bindgen]
#[must_use]
pub fn protocol() -> String {
    json!({
        "route": {
            "own": ROUTE_OWN,
            "changed": ROUTE_CHANGED,
            "originShift": ORIGIN_SHIFT,
            "originMask": ORIGIN_MASK,
            "offsetShift": OFFSET_SHIFT,
            "noOffset": NO_OFFSET,
        },
        "origin": OriginKind::describe(),
        "prepared": Prepared::describe(),
        "body": { "gunzip": PREPARED_GUNZIP, "sniffBytes": SNIFF_BYTES },
        "originFailure": OriginFailure::describe(),
        "chunk": Chunk::describe(),
        "inline": {
            "actionShift": ACTION_SHIFT,
            "stateMask": STATE_MASK,
            "scriptStart": SCRIPT_START,
            "styleStart": STYLE_START,
        },
        "separator": FIELD_SEPARATOR.to_string(),
        "separatorInValue": SEPARATOR_IN_VALUE.to_string(),
        "requestHeaders": REQUEST_HEADERS,
        "responseHeaders": RESPONSE_HEADERS,
        "selectors": {
            "stripElements": STRIP_ELEMENTS,
            "stripInline": STRIP_INLINE,
            "stripStyle": STRIP_STYLE,
            "ownTagElements": OWN_TAG_ELEMENTS,
            "ownTagInline": OWN_TAG_INLINE,
        },
        "matchOverlap": MATCH_OVERLAP,
        "originTimeoutMs": ORIGIN_HEAD_TIMEOUT_MS,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_named_once_and_read_back() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[(&str, T)],
            code: fn(T) -> u8,
            from: fn(u8) -> Option<T>,
        ) {
            let mut names: Vec<_> = all.iter().map(|(k, _)| *k).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), all.len(), "a name used twice");
            for (_, v) in all {
                assert_eq!(from(code(*v)), Some(*v));
            }
            assert_eq!(from(u8::MAX), None);
        }
        check(Prepared::ALL, Prepared::code, Prepared::from_code);
        check(
            OriginFailure::ALL,
            OriginFailure::code,
            OriginFailure::from_code,
        );
        check(OriginKind::ALL, OriginKind::code, OriginKind::from_code);
        check(Chunk::ALL, Chunk::code, Chunk::from_code);
    }

    #[test]
    fn joined_fields_come_back_in_order_with_empty_ones_absent() {
        assert_eq!(fields::<3>("a\n\nc"), [Some("a"), None, Some("c")]);
        assert_eq!(fields::<3>("a"), [Some("a"), None, None]);
    }

    #[test]
    fn the_description_holds_every_part_the_entry_reads() {
        let p: Value = serde_json::from_str(&protocol()).unwrap_or_default();
        for key in [
            "route",
            "origin",
            "prepared",
            "body",
            "originFailure",
            "chunk",
            "inline",
            "separator",
            "separatorInValue",
            "requestHeaders",
            "responseHeaders",
            "selectors",
            "matchOverlap",
            "originTimeoutMs",
        ] {
            assert!(p.get(key).is_some(), "{key} missing");
        }
        assert_eq!(p["prepared"]["rewrite"], 2);
        assert_eq!(p["requestHeaders"][4], "cf-connecting-ip");
    }
}

//! Generators and oracles for the property tests (`tests/*.rs`). The generators aim near
//! the input the parsers really get (the fields, cookies and directives they know, with the
//! characters that matter to them) as well as at arbitrary text; the oracles restate each
//! contract from its documentation, independently of the code under test.

// Each test file is a crate of its own and uses only part of this module.
#![allow(dead_code)]

use consent_core::consent::{Choices, ConsentId, Decision, DecisionMethod};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::collections::BTreeMap;

/// Cases per property in a plain `cargo test`; `PROPTEST_CASES` overrides it.
pub const DEFAULT_CASES: u32 = 2000;

/// The configuration of every property of a test file: [`DEFAULT_CASES`] unless
/// `PROPTEST_CASES` is set (`ProptestConfig::with_cases` would override the variable,
/// `default()` reads it), its failures kept in `regressions` (the test file's
/// `tests/<name>.proptest-regressions`).
#[must_use]
pub fn config(regressions: &'static str) -> ProptestConfig {
    let base = if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default()
    } else {
        ProptestConfig::with_cases(DEFAULT_CASES)
    };
    ProptestConfig {
        // Relative to the package: `cargo test` runs integration tests there.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..base
    }
}

/// The signing key the properties sign with.
pub const KEY: &[u8] = b"a-signing-key-of-at-least-32-bytes-long!";

/// The policy version the properties' decisions and records are made under.
pub const POLICY: &str = "2026-11";

/// Text of any characters, weighted towards the ones parsers of HTTP input care about:
/// separators, quotes, escapes, controls, Unicode whitespace and multi-byte characters.
pub fn text(max: usize) -> impl Strategy<Value = String> {
    let interesting = format!(
        "[{}{}]{{0,{max}}}",
        "a-zA-Z0-9 =;,:/?#&%+.'\"\\\\<>*_\\-\\t\\r\\n\\x00-\\x1f\\x7f",
        "\u{85}\u{a0}\u{200b}\u{2028}\u{3000}\u{feff}é€\u{1f600}"
    );
    prop_oneof![
        3 => proptest::string::string_regex(&interesting).unwrap_or_else(|_| unreachable!()),
        1 => proptest::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter),
    ]
}

/// Arbitrary bytes, up to `max`.
pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..=max)
}

/// One of `items`, or arbitrary text.
pub fn one_of_or_text(items: &'static [&'static str], max: usize) -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::sample::select(items).prop_map(str::to_owned),
        1 => text(max),
    ]
    .boxed()
}

/// Both booleans.
pub fn choices() -> impl Strategy<Value = Choices> {
    (any::<bool>(), any::<bool>()).prop_map(|(analytics, marketing)| Choices {
        analytics,
        marketing,
    })
}

/// A decision as `Decision::new` makes it, with a policy version of up to 32 characters of
/// any kind (the configuration allows fewer) and a time up to the year 2100.
pub fn decision() -> impl Strategy<Value = Decision> {
    (
        any::<[u8; 16]>(),
        choices(),
        prop_oneof![
            "[A-Za-z0-9._-]{1,32}",
            proptest::collection::vec(any::<char>(), 0..32).prop_map(String::from_iter),
        ],
        0u64..4_102_444_800_000,
        1u32..=365,
    )
        .prop_map(|(id, choices, policy, now, days)| {
            Decision::new(ConsentId::from_random(id), choices, &policy, now, days)
        })
}

/// A change to a string: the index and character are taken modulo its length.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Replace one byte with another ASCII character.
    Replace(usize, u8),
    /// Insert a character.
    Insert(usize, char),
    /// Remove one byte.
    Remove(usize),
    /// Keep only a prefix.
    Truncate(usize),
    /// Append text.
    Append(String),
}

/// Any [`Edit`].
pub fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), 0x20u8..0x7f).prop_map(|(i, b)| Edit::Replace(i, b)),
        1 => (any::<usize>(), any::<char>()).prop_map(|(i, c)| Edit::Insert(i, c)),
        1 => any::<usize>().prop_map(Edit::Remove),
        1 => any::<usize>().prop_map(Edit::Truncate),
        1 => text(8).prop_map(Edit::Append),
    ]
}

/// `value` (ASCII, as every cookie value this worker writes) changed by `edit`; `None` when
/// the edit happens to change nothing.
#[must_use]
pub fn apply(value: &str, edit: &Edit) -> Option<String> {
    let mut out = value.to_owned();
    let at = |i: usize| i % (value.len() + 1);
    match edit {
        Edit::Replace(i, b) => {
            if !value.is_empty() {
                let i = i % value.len();
                out.replace_range(i..=i, &char::from(*b).to_string());
            }
        }
        Edit::Insert(i, c) => out.insert(at(*i), *c),
        Edit::Remove(i) => {
            if !out.is_empty() {
                out.remove(i % value.len());
            }
        }
        Edit::Truncate(i) => out.truncate(at(*i)),
        Edit::Append(s) => out.push_str(s),
    }
    (out != value).then_some(out)
}

/// The form fields of `POST /_consent`.
pub const FORM_FIELDS: [&str; 5] = ["action", "analytics", "marketing", "return_to", "via"];

/// A path a form could send back as `return_to`, or something that tries to leave the site.
pub fn return_path() -> BoxedStrategy<String> {
    let piece = proptest::sample::select(
        &[
            "/",
            "//",
            "\\",
            "/\\",
            "a",
            "evil.example",
            ":",
            "@",
            "?",
            "#",
            "%2F",
            "%5C",
            "%0d%0a",
            ".",
            "..",
            "\t",
            "\n",
            "\r",
            " ",
            "\u{0}",
            "\u{7f}",
            "\u{85}",
            "\u{a0}",
            "\u{2028}",
            "\u{3000}",
            "\u{200b}",
            "\u{feff}",
            "\u{ff0f}",
            "https:",
            "javascript:",
            "é",
        ][..],
    );
    prop_oneof![
        3 => proptest::collection::vec(piece, 0..8).prop_map(|p| p.concat()),
        1 => text(24),
        1 => "/[a-z0-9/_.-]{0,30}",
        1 => (1025usize..1100).prop_map(|n| format!("/{}", "a".repeat(n - 1))),
    ]
    .boxed()
}

/// A value for form field `name`: one the banner sends, or not.
pub fn field_value(name: &str) -> BoxedStrategy<String> {
    let known: &'static [&'static str] = match name {
        "action" => &[
            "accept_all",
            "reject_all",
            "save",
            "ACCEPT_ALL",
            "",
            "accept",
        ],
        "analytics" | "marketing" => &["on", "off", "", "1", "ON"],
        "via" => &["banner", "preferences", "", "elsewhere"],
        _ => &["x", ""],
    };
    if name == "return_to" {
        return return_path();
    }
    one_of_or_text(known, 12)
}

/// A form field: a real name mostly, sometimes another.
pub fn form_field() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        8 => proptest::sample::select(&FORM_FIELDS[..]).prop_map(str::to_owned),
        1 => text(8),
    ]
    .prop_flat_map(|name| {
        let value = field_value(&name);
        (Just(name), value)
    })
}

/// The fields of a form the banner or the preferences page could send, in any order.
pub fn valid_form_fields() -> impl Strategy<Value = Vec<(String, String)>> {
    let opt = |v: &'static [&'static str]| {
        proptest::option::of(proptest::sample::select(v).prop_map(str::to_owned))
    };
    (
        proptest::sample::select(&["accept_all", "reject_all", "save"][..]),
        opt(&["on"]),
        opt(&["on"]),
        opt(&["banner", "preferences"]),
        proptest::option::of(prop_oneof!["/[a-z0-9/_.?=&%-]{0,30}", return_path()]),
    )
        .prop_map(|(action, analytics, marketing, via, return_to)| {
            let mut fields = vec![("action".to_owned(), action.to_owned())];
            for (name, value) in [
                ("analytics", analytics),
                ("marketing", marketing),
                ("via", via),
                ("return_to", return_to),
            ] {
                fields.extend(value.map(|v| (name.to_owned(), v)));
            }
            fields
        })
        .prop_shuffle()
}

/// A valid form changed a little: a field repeated, dropped, given another value, or an
/// unknown one added.
pub fn near_valid_form_fields() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        valid_form_fields(),
        proptest::collection::vec((0u8..4, any::<usize>(), form_field()), 0..3),
    )
        .prop_map(|(mut fields, changes)| {
            for (kind, i, (name, value)) in changes {
                let i = i % fields.len().max(1);
                match (kind, fields.get(i).cloned()) {
                    (0, Some(field)) => fields.insert(i, field),
                    (1, Some(_)) => {
                        fields.remove(i);
                    }
                    (2, Some((n, _))) => fields[i] = (n, value),
                    _ => fields.insert(i, (name, value)),
                }
            }
            fields
        })
}

/// A form body of the real fields (repeated, missing, unknown, in any order) with random
/// values, or of a near-valid form, percent-encoded as a browser does or written raw.
pub fn form_body() -> impl Strategy<Value = Vec<u8>> {
    let fields = prop_oneof![
        1 => proptest::collection::vec(form_field(), 0..7),
        1 => valid_form_fields(),
        2 => near_valid_form_fields(),
    ];
    (fields, any::<bool>()).prop_map(|(fields, encoded)| {
        if encoded {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (name, value) in &fields {
                s.append_pair(name, value);
            }
            s.finish().into_bytes()
        } else {
            fields
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes()
        }
    })
}

/// What a form body must mean, straight from the contract (README, "The decision and the
/// consent cookie", and the module's doc): every field known and given once, checkboxes
/// `on` or absent, `via` banner or preferences, an action among three; a `return_to` kept
/// only when it is on this site. `None`: refused.
#[must_use]
pub fn expected_form(body: &[u8]) -> Option<(Choices, DecisionMethod, Option<String>)> {
    std::str::from_utf8(body).ok()?;
    let mut fields = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        if !FORM_FIELDS.contains(&name.as_ref()) {
            return None;
        }
        if fields
            .insert(name.into_owned(), value.into_owned())
            .is_some()
        {
            return None;
        }
    }
    let ticked = |f: &str| match fields.get(f).map(String::as_str) {
        None => Some(false),
        Some("on") => Some(true),
        Some(_) => None,
    };
    let ticked = Choices {
        analytics: ticked("analytics")?,
        marketing: ticked("marketing")?,
    };
    let prefs = match fields.get("via").map(String::as_str) {
        None | Some("banner") => false,
        Some("preferences") => true,
        Some(_) => return None,
    };
    let (choices, method) = match (fields.get("action")?.as_str(), prefs) {
        ("accept_all", false) => (Choices::ALL, DecisionMethod::AcceptAll),
        ("reject_all", false) => (Choices::NONE, DecisionMethod::RejectAll),
        ("save", false) => (ticked, DecisionMethod::Save),
        ("accept_all" | "save", true) => (
            if fields["action"] == "save" {
                ticked
            } else {
                Choices::ALL
            },
            DecisionMethod::Preferences,
        ),
        ("reject_all", true) => (Choices::NONE, DecisionMethod::Withdraw),
        _ => return None,
    };
    // A page the worker will not send the browser to does not refuse the decision: it is
    // dropped, and the browser goes home.
    let return_to = fields
        .get("return_to")
        .filter(|p| stays_on_site(p))
        .cloned();
    Some((choices, method, return_to))
}

/// The contract of a safe return path: one leading `/`, not `//` nor `/\`, no control,
/// whitespace or backslash anywhere, at most 1024 bytes.
#[must_use]
pub fn stays_on_site(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.starts_with("/\\")
        && p.len() <= 1024
        && !p
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
}

/// A JSON body: an object of known and unknown keys with right and wrong values, sometimes
/// with trailing text. Returns the body and whether the contract accepts it, with what.
pub fn json_body() -> impl Strategy<Value = (Vec<u8>, Option<Choices>)> {
    let key = proptest::sample::select(&["analytics", "marketing", "admin", "Analytics"][..]);
    let value = proptest::sample::select(&["true", "false", "1", "\"true\"", "null", "0.5"][..]);
    let boolean = proptest::sample::select(&["true", "false"][..]);
    let valid = (boolean.clone(), boolean)
        .prop_map(|(a, m)| vec![("analytics", a), ("marketing", m)])
        .prop_shuffle();
    let near_valid = (
        valid.clone(),
        proptest::collection::vec((any::<usize>(), key.clone(), value.clone()), 0..2),
    )
        .prop_map(|(mut fields, extra)| {
            for (i, k, v) in extra {
                fields.insert(i % (fields.len() + 1), (k, v));
            }
            fields
        });
    let fields = prop_oneof![
        1 => proptest::collection::vec((key, value), 0..4),
        1 => valid,
        1 => near_valid,
    ];
    (
        fields,
        proptest::sample::select(&["", "", "", " ", "\n", "{", "}", "x"][..]),
        proptest::sample::select(&["", " ", "\t", "\r\n"][..]),
    )
        .prop_map(|(fields, trailer, ws)| {
            let body = format!(
                "{ws}{{{}}}{ws}{trailer}",
                fields
                    .iter()
                    .map(|(k, v)| format!("{ws}\"{k}\"{ws}:{ws}{v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let mut keys: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
            keys.sort_unstable();
            let get = |k: &str| fields.iter().find(|(f, _)| *f == k).map(|(_, v)| *v);
            let as_bool = |v: Option<&str>| match v {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            };
            let ok = keys == ["analytics", "marketing"] && trailer.trim().is_empty();
            let expected = ok
                .then(|| {
                    Some(Choices {
                        analytics: as_bool(get("analytics"))?,
                        marketing: as_bool(get("marketing"))?,
                    })
                })
                .flatten();
            (body.into_bytes(), expected)
        })
}

/// CSP directive names, the ones `extend_csp` touches and some it must leave alone, in
/// the case a policy may write them.
pub const CSP_NAMES: [&str; 16] = [
    "default-src",
    "script-src",
    "style-src",
    "img-src",
    "connect-src",
    "frame-src",
    "child-src",
    "worker-src",
    "object-src",
    "base-uri",
    "frame-ancestors",
    "upgrade-insecure-requests",
    "report-uri",
    "Script-Src",
    "DEFAULT-SRC",
    "form-action",
];

/// CSP sources, lower-case keywords as policies write them.
pub const CSP_SOURCES: [&str; 16] = [
    "'self'",
    "'none'",
    "'unsafe-inline'",
    "'unsafe-eval'",
    "'nonce-b3JpZ2lu'",
    "'sha256-AAAA'",
    "https:",
    "data:",
    "*",
    "https://cdn.example",
    "https://www.googletagmanager.com",
    "'wasm-unsafe-eval'",
    "blob:",
    "https://*.example.com",
    "'report-sample'",
    "/csp-report",
];

/// More sources: keywords in other cases and `'strict-dynamic'`, which CSP treats as the
/// lower-case ones (keywords are ASCII case-insensitive).
pub const CSP_SOURCES_MORE: [&str; 4] = [
    "'NONE'",
    "'Unsafe-Inline'",
    "'strict-dynamic'",
    "'NONCE-b3JpZ2lu'",
];

/// A CSP policy: a list of directives of the names above, each with a few sources, joined by
/// `;` with ASCII whitespace as policies have it (some empty directives too); with
/// `odd_whitespace`, sources are sometimes separated by characters that are whitespace to
/// Rust but not to CSP (vertical tab, NEL, no-break space: a header may carry them).
pub fn csp_policy(more_sources: bool, odd_whitespace: bool) -> impl Strategy<Value = String> {
    let source = if more_sources {
        prop_oneof![
            3 => proptest::sample::select(&CSP_SOURCES[..]),
            1 => proptest::sample::select(&CSP_SOURCES_MORE[..]),
        ]
        .boxed()
    } else {
        proptest::sample::select(&CSP_SOURCES[..]).boxed()
    };
    let name = prop_oneof![
        6 => proptest::sample::select(&CSP_NAMES[..]),
        1 => Just("script-src-elem"),
        1 => Just(""),
    ];
    let ws = proptest::sample::select(&[" ", "  ", "\t", " \t "][..]);
    let between_sources = if odd_whitespace {
        proptest::sample::select(&[" ", "\t", "\u{b}", "\u{85}", "\u{a0}"][..])
    } else {
        ws.clone()
    };
    let directive = (
        name,
        proptest::collection::vec((source, between_sources), 0..4),
        ws.clone(),
    )
        .prop_map(|(name, sources, ws)| {
            let mut d = format!("{ws}{name}");
            for (i, (source, between)) in sources.into_iter().enumerate() {
                // The name stays a name: only sources meet the odd whitespace.
                d.push_str(if i == 0 { ws } else { between });
                d.push_str(source);
            }
            d
        });
    (proptest::collection::vec(directive, 0..7), ws).prop_map(|(ds, ws)| ds.join(&format!(";{ws}")))
}

/// A policy as the CSP specification parses it (§ 2.2.1): split on `;`, then on ASCII
/// whitespace; the name lower-cased; empty directives skipped.
#[must_use]
pub fn parse_csp(policy: &str) -> Vec<(String, Vec<String>)> {
    let ascii_ws = |c: char| matches!(c, '\t' | '\n' | '\u{c}' | '\r' | ' ');
    policy
        .split(';')
        .filter_map(|d| {
            let mut words = d.split(ascii_ws).filter(|w| !w.is_empty());
            let name = words.next()?.to_ascii_lowercase();
            Some((name, words.map(str::to_owned).collect()))
        })
        .collect()
}

/// The source list in force for a fetch directive: the first of its fallback chain (CSP 3
/// § 6.8.3) that the policy sets, the first of duplicates winning; `None` when unrestricted.
#[must_use]
pub fn effective<'p>(policy: &'p [(String, Vec<String>)], directive: &str) -> Option<&'p [String]> {
    let chain: &[&str] = match directive {
        "script-src-elem" => &["script-src-elem", "script-src", "default-src"],
        "style-src-elem" => &["style-src-elem", "style-src", "default-src"],
        "frame-src" => &["frame-src", "child-src", "default-src"],
        "worker-src" => &["worker-src", "child-src", "script-src", "default-src"],
        other => &[other, "default-src"][..],
    };
    chain.iter().find_map(|name| {
        policy
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    })
}

/// The fetch directives a page's resources are checked against.
pub const FETCH_DIRECTIVES: [&str; 10] = [
    "script-src",
    "script-src-elem",
    "style-src",
    "style-src-elem",
    "img-src",
    "connect-src",
    "frame-src",
    "child-src",
    "worker-src",
    "object-src",
];

/// True when a source list lets every inline script (or style) run (CSP 3 § 6.7.3.3):
/// `'unsafe-inline'` without a nonce, a hash or (for scripts) `'strict-dynamic'`, keywords
/// compared without case.
#[must_use]
pub fn allows_all_inline(list: &[String], script: bool) -> bool {
    let has = |p: &str| list.iter().any(|s| s.to_ascii_lowercase().starts_with(p));
    let restricted = ["'nonce-", "'sha256-", "'sha384-", "'sha512-"]
        .iter()
        .any(|p| has(p))
        || (script && has("'strict-dynamic'"));
    has("'unsafe-inline'") && !restricted
}

/// True when an inline element carrying `nonce` runs under a source list (or its absence).
#[must_use]
pub fn nonce_runs(list: Option<&[String]>, nonce: &str, script: bool) -> bool {
    list.is_none_or(|l| {
        allows_all_inline(l, script)
            || l.iter().any(|s| {
                s.get(..7)
                    .is_some_and(|p| p.eq_ignore_ascii_case("'nonce-"))
                    && s.get(7..) == Some(format!("{nonce}'").as_str())
            })
    })
}

//! Property tests of language negotiation (`i18n`), through the public API only.
//!
//! Each property runs `support::DEFAULT_CASES` cases in a plain `cargo test`, or as many as
//! `PROPTEST_CASES` says (`scripts/proptest-long.sh` runs a million). A failure is written to
//! `tests/i18n.proptest-regressions` and replayed first on the next run.

mod support;

use consent_core::i18n::{negotiate, Lang};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use support::text;

/// The configuration of every property here, its failures kept in
/// `tests/i18n.proptest-regressions`.
fn config() -> ProptestConfig {
    support::config("tests/i18n.proptest-regressions")
}

// ---------------------------------------------------------------------------------------
// Language negotiation.

/// An `Accept-Language` item: a range and maybe a quality, and the quality it means
/// (thousandths), `None` when malformed.
fn language_item() -> impl Strategy<Value = (String, Option<u16>)> {
    let range = select(
        &[
            "es", "en", "ES", "En-GB", "es-419", "eS-mx", "fr", "de-DE", "*", "english", "esp", "",
        ][..],
    );
    let quality = prop_oneof![
        2 => Just((String::new(), Some(1000))),
        4 => (0u16..=1000).prop_map(|t| {
            let q = if t == 1000 { "1.000".to_owned() } else { format!("0.{t:03}") };
            (format!(";q={q}"), Some(t))
        }),
        1 => select(&[";q=abc", ";q=7", ";q=-0.5", ";q=", ";q=1.5"][..])
            .prop_map(|q| (q.to_owned(), None)),
        1 => Just((" ; level=1 ; q=0.500".to_owned(), Some(500))),
    ];
    (range, quality, select(&["", " ", "\t"][..]))
        .prop_map(|(r, (q, t), ws)| (format!("{ws}{r}{q}{ws}"), t))
}

proptest! {
    #![proptest_config(config())]

    /// Any header gives English or Spanish.
    #[test]
    fn negotiation_always_answers(header in option::of(text(300))) {
        prop_assert!(matches!(negotiate(header.as_deref()), Lang::En | Lang::Es));
    }

    /// The supported language of highest quality wins, the earlier on a tie; English when
    /// none is acceptable. Only the first 32 items count.
    #[test]
    fn negotiation_prefers_the_highest_quality(
        items in proptest::collection::vec(language_item(), 0..40),
    ) {
        let header = items.iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>().join(",");
        let mut best: Option<(Lang, u16)> = None;
        for (item, quality) in items.iter().take(32) {
            let range = item.split(';').next().unwrap_or("").trim();
            let primary = range.split('-').next().unwrap_or("");
            let lang = match primary.to_ascii_lowercase().as_str() {
                "es" => Lang::Es,
                "en" => Lang::En,
                _ => continue,
            };
            if let Some(q) = quality.filter(|q| *q > 0 && best.is_none_or(|(_, b)| *q > b)) {
                best = Some((lang, q));
            }
        }
        prop_assert_eq!(negotiate(Some(&header)), best.map_or(Lang::En, |(l, _)| l), "{}", header);
    }
}

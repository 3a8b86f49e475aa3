//! What the browser will fetch: the gate's judgement of attribute values and inline text
//! after the decoding a browser does before it requests anything.
//!
//! The runtime's `HTMLRewriter` hands attribute values over as the page wrote them, while the
//! browser decodes character references, strips TAB/LF/CR from URLs, percent-decodes and maps
//! (UTS 46) the host and resolves the URL before it fetches: a page that writes
//! `https://www.&#x67;oogletagmanager.com/gtag/js`, a TAB inside the host, `%67` in the host,
//! `\x67` in a script string or `\67 ` in CSS would otherwise get past a plain substring test
//! (docs/compliance.md rule 1: no gtag or GTM script before consent).
//!
//! - [`url_is_blocked`]: a URL-valued attribute, parsed as the WHATWG URL standard does.
//! - [`srcset_is_blocked`], [`url_list_is_blocked`], [`refresh_is_blocked`]: attributes holding
//!   several URLs, or one inside other syntax.
//! - [`text_is_blocked`]: free text (inline scripts, event handlers, CSS, any other attribute),
//!   normalised then searched, conservatively.
//! - [`decode_char_refs`]: HTML character references, as the tokenizer decodes them in an
//!   attribute value.
//!
//! The fast path (plain ASCII with none of `& % \`, TAB, LF or CR) allocates nothing and never
//! calls [`ToAscii`].

use std::borrow::Cow;

/// A blocked destination: a host, matched by suffix on label boundaries (`googletagmanager.com`
/// matches `www.googletagmanager.com` and `googletagmanager.com`, never
/// `evilgoogletagmanager.com` or `googletagmanager.com.evil.net`), optionally only under a
/// path prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The host and its subdomains.
    pub host: HostPattern,
    /// Only paths starting with this (`/gtag/`), compared without ASCII case after
    /// percent-decoding and resolving `.`/`..` segments; `None`: every path.
    pub path_prefix: Option<&'static str>,
}

impl Rule {
    /// Every URL on `domain` and its subdomains.
    #[must_use]
    pub const fn domain(domain: &'static str) -> Self {
        Self {
            host: HostPattern::Domain(domain),
            path_prefix: None,
        }
    }

    /// The URLs on `host` (and its subdomains) whose path starts with `prefix`.
    #[must_use]
    pub const fn under(host: HostPattern, prefix: &'static str) -> Self {
        Self {
            host,
            path_prefix: Some(prefix),
        }
    }
}

/// The host part of a [`Rule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPattern {
    /// A registrable domain in lower case (`doubleclick.net`), with any subdomain.
    Domain(&'static str),
    /// `google.<country or generic TLD>`: `google.com`, `google.es`, `google.co.uk`,
    /// `google.com.br` (the TLD part is `com`, two letters, `co.` or `com.` and two
    /// letters), with any subdomain such as `www.`.
    GoogleAnyTld,
}

/// Maps a non-ASCII (or otherwise non-plain) host to ASCII as the browser's URL parser does
/// (UTS 46, as in the WHATWG URL standard's "domain to ASCII"), or `None` when the host is
/// invalid. The worker implements it with the runtime's own URL parser (no wasm cost); the
/// tests with the `url` crate.
pub trait ToAscii {
    /// `host` percent-decoded (any case); the result in ASCII lower case.
    fn to_ascii(&self, host: &str) -> Option<String>;
}

/// A [`ToAscii`] without a URL parser: an ASCII host lower-cased, any other refused. For
/// callers that only meet hosts written in ASCII, such as tests of the rules over them.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsciiOnly;

impl ToAscii for AsciiOnly {
    fn to_ascii(&self, host: &str) -> Option<String> {
        host.is_ascii().then(|| host.to_ascii_lowercase())
    }
}

// ---------------------------------------------------------------------------------------
// Character references.

/// HTML character references decoded as the HTML tokenizer does in an attribute value:
/// numeric ones (decimal `&#103;`, hex `&#x67;`/`&#X67;`, with or without `;`, any number
/// of leading zeros; 0, surrogates and values past U+10FFFF become U+FFFD, 0x80–0x9F are
/// remapped as windows-1252) and the named ones of a table of 290 names: every name whose
/// expansion is ASCII or is mapped to ASCII by a host's UTS 46 mapping. A legacy name without `;`
/// (`&amp`, `&lt`…) is decoded too, except when followed by `=` or an ASCII alphanumeric.
/// Other named references are left as written: they cannot put a blocked host into a URL.
///
/// Borrowed (no allocation) when nothing is decoded.
#[must_use]
pub fn decode_char_refs(raw: &str) -> Cow<'_, str> {
    let bytes = raw.as_bytes();
    let mut out: Option<String> = None;
    let (mut copied, mut i) = (0, 0);
    while let Some(offset) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| b == b'&'))
    {
        let at = i + offset;
        match char_ref_at(bytes, at) {
            Some((expansion, end)) => {
                let s = out.get_or_insert_with(|| String::with_capacity(raw.len()));
                s.push_str(raw.get(copied..at).unwrap_or_default());
                match expansion {
                    Expansion::Char(c) => s.push(c),
                    Expansion::Str(t) => s.push_str(t),
                }
                copied = end;
                i = end;
            }
            None => i = at + 1,
        }
    }
    match out {
        None => Cow::Borrowed(raw),
        Some(mut s) => {
            s.push_str(raw.get(copied..).unwrap_or_default());
            Cow::Owned(s)
        }
    }
}

enum Expansion {
    Char(char),
    Str(&'static str),
}

/// The character reference starting at `bytes[at]` (an `&`) and the index just past it.
fn char_ref_at(bytes: &[u8], at: usize) -> Option<(Expansion, usize)> {
    let start = at + 1;
    if bytes.get(start) == Some(&b'#') {
        return numeric_ref(bytes, start + 1).map(|(c, end)| (Expansion::Char(c), end));
    }
    let len = bytes
        .get(start..)?
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    let name = std::str::from_utf8(bytes.get(start..start + len)?).ok()?;
    let end = start + len;
    if name.is_empty() {
        return None;
    }
    match bytes.get(end) {
        Some(b';') => named(name, true).map(|t| (Expansion::Str(t), end + 1)),
        // In an attribute a legacy name before `=` is left as written (a query string's
        // `&amp=1`); before an alphanumeric it is not the whole run (checked above).
        Some(b'=') => None,
        _ => named(name, false).map(|t| (Expansion::Str(t), end)),
    }
}

/// A numeric reference's digits from `bytes[start]` (after `&#`): its character and the
/// index just past it (and its `;`, if any). `None` without digits (`&#;`, `&#x`).
fn numeric_ref(bytes: &[u8], start: usize) -> Option<(char, usize)> {
    let hex = matches!(bytes.get(start), Some(b'x' | b'X'));
    let (radix, digits) = if hex { (16, start + 1) } else { (10, start) };
    let mut value: u32 = 0;
    let mut end = digits;
    while let Some(d) = bytes.get(end).and_then(|&b| char::from(b).to_digit(radix)) {
        // Saturates past u32: anything past U+10FFFF is U+FFFD alike.
        value = value.saturating_mul(radix).saturating_add(d);
        end += 1;
    }
    if end == digits {
        return None;
    }
    if bytes.get(end) == Some(&b';') {
        end += 1;
    }
    Some((numeric_char(value), end))
}

/// The character of a numeric reference (the HTML standard's "numeric character reference
/// end state").
fn numeric_char(value: u32) -> char {
    /// 0x80–0x9F as windows-1252 reads them; 0 where the standard keeps the C1 control.
    const C1: [u16; 32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
        0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
        0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ];
    let remapped = value
        .checked_sub(0x80)
        .and_then(|i| C1.get(usize::try_from(i).ok()?))
        .filter(|&&c| c != 0)
        .map_or(value, |&c| u32::from(c));
    // 0, surrogates and past U+10FFFF: `from_u32` refuses the last two.
    if remapped == 0 {
        return char::REPLACEMENT_CHARACTER;
    }
    char::from_u32(remapped).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The expansion of the named reference `name` (without `&` and `;`), followed by `;` or not.
fn named(name: &str, semicolon: bool) -> Option<&'static str> {
    NAMED.split_terminator('\0').find_map(|record| {
        let rest = record.strip_prefix(name)?;
        let mut chars = rest.chars();
        match chars.next()? {
            ';' if semicolon => Some(chars.as_str()),
            '!' => Some(chars.as_str()),
            _ => None,
        }
    })
}

/// The named character references that matter to a URL's host or path: every name of the
/// WHATWG table whose expansion is ASCII or is mapped to ASCII (or to nothing) by UTS 46 (the
/// host mapping: `&Gopf;` 𝔾 is `g`, `&shy;` vanishes, `&trade;` is `tm`). The full table (2,231
/// names) would cost the wasm some 30 KB for nothing: a name that expands to anything else
/// cannot spell a blocked host. One record per name: the name, `;` (needs its `;`) or `!`
/// (legacy: also without `;`), the expansion, NUL. Checked against the full table by
/// `tables::named_table_matches_the_whatwg_table` below; `tables::print_tables` prints it anew
/// (`cargo test -p consent-core --lib -- --ignored --nocapture print_tables`).
const NAMED: &str = concat!(
    "AMP!&\0",
    "Afr;𝔄\0",
    "Aopf;𝔸\0",
    "ApplyFunction;\u{2061}\0",
    "Ascr;𝒜\0",
    "Bernoullis;ℬ\0",
    "Bfr;𝔅\0",
    "Bopf;𝔹\0",
    "Bscr;ℬ\0",
    "CapitalDifferentialD;ⅅ\0",
    "Cayleys;ℭ\0",
    "Cfr;ℭ\0",
    "Colone;⩴\0",
    "Copf;ℂ\0",
    "Cscr;𝒞\0",
    "DD;ⅅ\0",
    "Dfr;𝔇\0",
    "DiacriticalGrave;`\0",
    "DifferentialD;ⅆ\0",
    "Dopf;𝔻\0",
    "Dscr;𝒟\0",
    "Efr;𝔈\0",
    "Eopf;𝔼\0",
    "Equal;⩵\0",
    "Escr;ℰ\0",
    "ExponentialE;ⅇ\0",
    "Ffr;𝔉\0",
    "Fopf;𝔽\0",
    "Fouriertrf;ℱ\0",
    "Fscr;ℱ\0",
    "GT!>\0",
    "Gfr;𝔊\0",
    "Gopf;𝔾\0",
    "Gscr;𝒢\0",
    "Hat;^\0",
    "Hfr;ℌ\0",
    "HilbertSpace;ℋ\0",
    "Hopf;ℍ\0",
    "Hscr;ℋ\0",
    "IJlig;Ĳ\0",
    "Ifr;ℑ\0",
    "Im;ℑ\0",
    "ImaginaryI;ⅈ\0",
    "InvisibleComma;\u{2063}\0",
    "InvisibleTimes;\u{2062}\0",
    "Iopf;𝕀\0",
    "Iscr;ℐ\0",
    "Jfr;𝔍\0",
    "Jopf;𝕁\0",
    "Jscr;𝒥\0",
    "Kfr;𝔎\0",
    "Kopf;𝕂\0",
    "Kscr;𝒦\0",
    "LT!<\0",
    "Laplacetrf;ℒ\0",
    "Lfr;𝔏\0",
    "Lopf;𝕃\0",
    "Lscr;ℒ\0",
    "MediumSpace;\u{205f}\0",
    "Mellintrf;ℳ\0",
    "Mfr;𝔐\0",
    "Mopf;𝕄\0",
    "Mscr;ℳ\0",
    "NegativeMediumSpace;\u{200b}\0",
    "NegativeThickSpace;\u{200b}\0",
    "NegativeThinSpace;\u{200b}\0",
    "NegativeVeryThinSpace;\u{200b}\0",
    "NewLine;\n\0",
    "Nfr;𝔑\0",
    "NoBreak;\u{2060}\0",
    "NonBreakingSpace;\u{a0}\0",
    "Nopf;ℕ\0",
    "Nscr;𝒩\0",
    "Ofr;𝔒\0",
    "Oopf;𝕆\0",
    "Oscr;𝒪\0",
    "Pfr;𝔓\0",
    "Poincareplane;ℌ\0",
    "Popf;ℙ\0",
    "Pscr;𝒫\0",
    "QUOT!\"\0",
    "Qfr;𝔔\0",
    "Qopf;ℚ\0",
    "Qscr;𝒬\0",
    "Re;ℜ\0",
    "Rfr;ℜ\0",
    "Ropf;ℝ\0",
    "Rscr;ℛ\0",
    "Sfr;𝔖\0",
    "Sopf;𝕊\0",
    "Sscr;𝒮\0",
    "TRADE;™\0",
    "Tab;\t\0",
    "Tfr;𝔗\0",
    "ThickSpace;\u{205f}\u{200a}\0",
    "ThinSpace;\u{2009}\0",
    "Topf;𝕋\0",
    "Tscr;𝒯\0",
    "Ufr;𝔘\0",
    "UnderBar;_\0",
    "Uopf;𝕌\0",
    "Uscr;𝒰\0",
    "VerticalLine;|\0",
    "VeryThinSpace;\u{200a}\0",
    "Vfr;𝔙\0",
    "Vopf;𝕍\0",
    "Vscr;𝒱\0",
    "Wfr;𝔚\0",
    "Wopf;𝕎\0",
    "Wscr;𝒲\0",
    "Xfr;𝔛\0",
    "Xopf;𝕏\0",
    "Xscr;𝒳\0",
    "Yfr;𝔜\0",
    "Yopf;𝕐\0",
    "Yscr;𝒴\0",
    "ZeroWidthSpace;\u{200b}\0",
    "Zfr;ℨ\0",
    "Zopf;ℤ\0",
    "Zscr;𝒵\0",
    "af;\u{2061}\0",
    "afr;𝔞\0",
    "amp!&\0",
    "aopf;𝕒\0",
    "apos;'\0",
    "ascr;𝒶\0",
    "ast;*\0",
    "bernou;ℬ\0",
    "bfr;𝔟\0",
    "bopf;𝕓\0",
    "bscr;𝒷\0",
    "bsol;\\\0",
    "cfr;𝔠\0",
    "circledS;Ⓢ\0",
    "colon;:\0",
    "comma;,\0",
    "commat;@\0",
    "complexes;ℂ\0",
    "copf;𝕔\0",
    "cscr;𝒸\0",
    "dd;ⅆ\0",
    "dfr;𝔡\0",
    "dollar;$\0",
    "dopf;𝕕\0",
    "dscr;𝒹\0",
    "ee;ⅇ\0",
    "efr;𝔢\0",
    "ell;ℓ\0",
    "emsp;\u{2003}\0",
    "emsp13;\u{2004}\0",
    "emsp14;\u{2005}\0",
    "ensp;\u{2002}\0",
    "eopf;𝕖\0",
    "equals;=\0",
    "escr;ℯ\0",
    "excl;!\0",
    "expectation;ℰ\0",
    "exponentiale;ⅇ\0",
    "ffilig;ﬃ\0",
    "fflig;ﬀ\0",
    "ffllig;ﬄ\0",
    "ffr;𝔣\0",
    "filig;ﬁ\0",
    "fjlig;fj\0",
    "fllig;ﬂ\0",
    "fopf;𝕗\0",
    "fscr;𝒻\0",
    "gfr;𝔤\0",
    "gopf;𝕘\0",
    "grave;`\0",
    "gscr;ℊ\0",
    "gt!>\0",
    "hairsp;\u{200a}\0",
    "hamilt;ℋ\0",
    "hfr;𝔥\0",
    "hopf;𝕙\0",
    "hscr;𝒽\0",
    "ic;\u{2063}\0",
    "ifr;𝔦\0",
    "ii;ⅈ\0",
    "ijlig;ĳ\0",
    "image;ℑ\0",
    "imagline;ℐ\0",
    "imagpart;ℑ\0",
    "incare;℅\0",
    "integers;ℤ\0",
    "iopf;𝕚\0",
    "iscr;𝒾\0",
    "it;\u{2062}\0",
    "jfr;𝔧\0",
    "jopf;𝕛\0",
    "jscr;𝒿\0",
    "kfr;𝔨\0",
    "kopf;𝕜\0",
    "kscr;𝓀\0",
    "lagran;ℒ\0",
    "lbrace;{\0",
    "lbrack;[\0",
    "lcub;{\0",
    "lfr;𝔩\0",
    "lopf;𝕝\0",
    "lowbar;_\0",
    "lpar;(\0",
    "lscr;𝓁\0",
    "lsqb;[\0",
    "lt!<\0",
    "mfr;𝔪\0",
    "midast;*\0",
    "mopf;𝕞\0",
    "mscr;𝓂\0",
    "naturals;ℕ\0",
    "nbsp!\u{a0}\0",
    "nfr;𝔫\0",
    "nopf;𝕟\0",
    "nscr;𝓃\0",
    "num;#\0",
    "numero;№\0",
    "numsp;\u{2007}\0",
    "oS;Ⓢ\0",
    "ofr;𝔬\0",
    "oopf;𝕠\0",
    "order;ℴ\0",
    "orderof;ℴ\0",
    "ordf!ª\0",
    "ordm!º\0",
    "oscr;ℴ\0",
    "percnt;%\0",
    "period;.\0",
    "pfr;𝔭\0",
    "phmmat;ℳ\0",
    "planckh;ℎ\0",
    "plus;+\0",
    "popf;𝕡\0",
    "primes;ℙ\0",
    "pscr;𝓅\0",
    "puncsp;\u{2008}\0",
    "qfr;𝔮\0",
    "qopf;𝕢\0",
    "qscr;𝓆\0",
    "quaternions;ℍ\0",
    "quest;?\0",
    "quot!\"\0",
    "rationals;ℚ\0",
    "rbrace;}\0",
    "rbrack;]\0",
    "rcub;}\0",
    "real;ℜ\0",
    "realine;ℛ\0",
    "realpart;ℜ\0",
    "reals;ℝ\0",
    "rfr;𝔯\0",
    "ropf;𝕣\0",
    "rpar;)\0",
    "rscr;𝓇\0",
    "rsqb;]\0",
    "semi;;\0",
    "sfr;𝔰\0",
    "shy!\u{ad}\0",
    "sol;/\0",
    "sopf;𝕤\0",
    "sscr;𝓈\0",
    "sup1!¹\0",
    "sup2!²\0",
    "sup3!³\0",
    "tfr;𝔱\0",
    "thinsp;\u{2009}\0",
    "topf;𝕥\0",
    "trade;™\0",
    "tscr;𝓉\0",
    "ufr;𝔲\0",
    "uopf;𝕦\0",
    "uscr;𝓊\0",
    "verbar;|\0",
    "vert;|\0",
    "vfr;𝔳\0",
    "vopf;𝕧\0",
    "vscr;𝓋\0",
    "wfr;𝔴\0",
    "wopf;𝕨\0",
    "wscr;𝓌\0",
    "xfr;𝔵\0",
    "xopf;𝕩\0",
    "xscr;𝓍\0",
    "yfr;𝔶\0",
    "yopf;𝕪\0",
    "yscr;𝓎\0",
    "zeetrf;ℨ\0",
    "zfr;𝔷\0",
    "zopf;𝕫\0",
    "zscr;𝓏\0",
);

// ---------------------------------------------------------------------------------------
// URLs.

/// True when a URL-valued attribute (`src`, `href`, `data`, `poster`, `action`,
/// `formaction`, `background`, `xlink:href`…) would make the browser fetch from a blocked
/// destination. `raw` is the value as the rewriter gives it (character references undecoded).
///
/// As the browser: character references decoded; leading and trailing C0 controls and
/// spaces stripped; every TAB, LF and CR removed; then, for a special scheme (`http`,
/// `https`, `ws`, `wss`, `ftp`, any case) or a scheme-relative URL (two or more `/` or `\`),
/// the host: after any number of `/` or `\`, up to `/ \ ? #`, after the last `@`, before
/// `:port`; percent-decoded, mapped by `idna` when not ASCII, compared without ASCII case, its
/// trailing dots dropped. A relative URL is the page's own site: not blocked (the caller
/// removes a blocked `<base>`). `javascript:` and `data:` URLs are judged as free text
/// ([`text_is_blocked`], after percent-decoding); other schemes fetch nothing from a host.
///
/// Conservative where the browser would refuse the URL: `https:host` without slashes is a
/// host (it is one on a page of another scheme), and a bad port does not clear it.
#[must_use]
pub fn url_is_blocked(raw: &str, rules: &[Rule], idna: &impl ToAscii) -> bool {
    !rules.is_empty() && decoded_url_is_blocked(&decode_char_refs(raw), rules, idna)
}

/// `srcset` / `imagesrcset`: comma-separated candidates, each a URL and optional descriptors
/// (the HTML standard's "parse a srcset attribute"). True when any candidate's URL is blocked.
#[must_use]
pub fn srcset_is_blocked(raw: &str, rules: &[Rule], idna: &impl ToAscii) -> bool {
    if rules.is_empty() {
        return false;
    }
    let value = decode_char_refs(raw);
    let mut rest = value.as_ref();
    loop {
        rest = rest.trim_start_matches(|c: char| is_ascii_whitespace(c) || c == ',');
        if rest.is_empty() {
            return false;
        }
        let end = rest.find(is_ascii_whitespace).unwrap_or(rest.len());
        let (url, after) = rest.split_at(end);
        let trimmed = url.trim_end_matches(',');
        if decoded_url_is_blocked(trimmed, rules, idna) {
            return true;
        }
        rest = if trimmed.len() < url.len() {
            after
        } else {
            skip_descriptors(after)
        };
    }
}

/// The rest of a srcset after a candidate's descriptors: up to a `,` outside parentheses.
fn skip_descriptors(s: &str) -> &str {
    let mut depth = false;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth = true,
            ')' => depth = false,
            ',' if !depth => return s.get(i + 1..).unwrap_or_default(),
            _ => {}
        }
    }
    ""
}

/// `ping`: URLs separated by ASCII whitespace. True when any is blocked.
#[must_use]
pub fn url_list_is_blocked(raw: &str, rules: &[Rule], idna: &impl ToAscii) -> bool {
    !rules.is_empty()
        && decode_char_refs(raw)
            .split(is_ascii_whitespace)
            .any(|url| !url.is_empty() && decoded_url_is_blocked(url, rules, idna))
}

/// `<meta http-equiv="refresh" content="…">`: true when the URL the browser would go to
/// (the HTML standard's "shared declarative refresh steps": a time, then `;` or `,`, then
/// optionally `url=`, then the URL, optionally quoted) is blocked.
#[must_use]
pub fn refresh_is_blocked(raw_content: &str, rules: &[Rule], idna: &impl ToAscii) -> bool {
    if rules.is_empty() {
        return false;
    }
    let content = decode_char_refs(raw_content);
    refresh_url(&content).is_some_and(|url| decoded_url_is_blocked(url, rules, idna))
}

/// The URL of a refresh's content, if it names one.
fn refresh_url(input: &str) -> Option<&str> {
    let s = input.trim_start_matches(is_ascii_whitespace);
    let time_len = s.bytes().take_while(u8::is_ascii_digit).count();
    if time_len == 0 && !s.starts_with('.') {
        return None;
    }
    let s = s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    if s.is_empty() {
        return None;
    }
    let after = s.trim_start_matches(is_ascii_whitespace);
    let after = after
        .strip_prefix([';', ','])
        .unwrap_or(after)
        .trim_start_matches(is_ascii_whitespace);
    if after.len() == s.len() || after.is_empty() {
        // Neither a separator nor whitespace after the time, or no URL: no navigation
        // elsewhere.
        return None;
    }
    let Some(u) = after.strip_prefix(['u', 'U']) else {
        return Some(unquote(after));
    };
    let keyword = u
        .strip_prefix(['r', 'R'])
        .and_then(|r| r.strip_prefix(['l', 'L']))
        .map(|l| l.trim_start_matches(is_ascii_whitespace))
        .and_then(|l| l.strip_prefix('='));
    match keyword {
        Some(value) => Some(unquote(value.trim_start_matches(is_ascii_whitespace))),
        // `u` not starting `url=`: the URL is the rest as it is, from the `u`.
        None => Some(after),
    }
}

/// A refresh URL without its opening quote and what follows its closing one.
fn unquote(s: &str) -> &str {
    match s.chars().next() {
        Some(q @ ('\'' | '"')) => {
            let inner = s.get(1..).unwrap_or_default();
            inner.split(q).next().unwrap_or_default()
        }
        _ => s,
    }
}

/// HTML's ASCII whitespace: TAB, LF, FF, CR, space.
fn is_ascii_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0C' | '\r' | ' ')
}

/// [`url_is_blocked`] of a value whose character references are already decoded.
fn decoded_url_is_blocked(url: &str, rules: &[Rule], idna: &impl ToAscii) -> bool {
    let url = url.trim_matches(|c: char| c <= ' ');
    let url: Cow<'_, str> = if url.contains(['\t', '\n', '\r']) {
        Cow::Owned(url.replace(['\t', '\n', '\r'], ""))
    } else {
        Cow::Borrowed(url)
    };
    let rest = match split_scheme(&url) {
        Some((scheme, rest)) if is_special(scheme) => rest,
        Some((scheme, rest)) => {
            return (scheme.eq_ignore_ascii_case("javascript")
                || scheme.eq_ignore_ascii_case("data"))
                && text_is_blocked(&percent_decode_lossy(rest), rules);
        }
        None if url.starts_with(['/', '\\'])
            && url.get(1..).is_some_and(|r| r.starts_with(['/', '\\'])) =>
        {
            url.as_ref()
        }
        None => return false,
    };
    let rest = rest.trim_start_matches(['/', '\\']);
    let authority_end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    if host_port.starts_with('[') {
        // An IPv6 address: no blocked host is one.
        return false;
    }
    let host = host_port.split(':').next().unwrap_or_default();
    let host: Cow<'_, str> = if host.contains('%') {
        Cow::Owned(percent_decode_lossy(host).into_owned())
    } else {
        Cow::Borrowed(host)
    };
    let host: Cow<'_, str> = if host.is_ascii() {
        host
    } else {
        match idna.to_ascii(&host) {
            Some(ascii) => Cow::Owned(ascii),
            // The browser refuses the URL: nothing is fetched.
            None => return false,
        }
    };
    let host = host.trim_end_matches('.');
    let path = tail.split(['?', '#']).next().unwrap_or_default();
    rules.iter().any(|rule| {
        host_matches(host, rule.host) && rule.path_prefix.is_none_or(|p| path_starts_with(path, p))
    })
}

/// The scheme of a URL and the rest after its `:`, when it has one (an ASCII letter, then
/// letters, digits, `+`, `-` or `.`).
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut bytes = scheme.bytes();
    (bytes.next()?.is_ascii_alphabetic()
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
    .then_some((scheme, rest))
}

/// The WHATWG URL standard's special schemes that fetch from a host.
fn is_special(scheme: &str) -> bool {
    ["http", "https", "ws", "wss", "ftp"]
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s))
}

/// True when `host` (ASCII, any case, without trailing dots) is `pattern` or a subdomain.
fn host_matches(host: &str, pattern: HostPattern) -> bool {
    match pattern {
        HostPattern::Domain(domain) => is_domain_or_subdomain(host, domain),
        HostPattern::GoogleAnyTld => {
            let Some((rest, last)) = host.rsplit_once('.') else {
                return false;
            };
            let country = is_country(last);
            if (country || last.eq_ignore_ascii_case("com"))
                && is_domain_or_subdomain(rest, "google")
            {
                return true;
            }
            country
                && rest.rsplit_once('.').is_some_and(|(rest, second)| {
                    (second.eq_ignore_ascii_case("co") || second.eq_ignore_ascii_case("com"))
                        && is_domain_or_subdomain(rest, "google")
                })
        }
    }
}

/// True when `host` is `domain` or ends with `.domain`, without ASCII case.
fn is_domain_or_subdomain(host: &str, domain: &str) -> bool {
    let Some(start) = host.len().checked_sub(domain.len()) else {
        return false;
    };
    host.get(start..)
        .is_some_and(|tail| tail.eq_ignore_ascii_case(domain))
        && (start == 0 || host.as_bytes().get(start - 1) == Some(&b'.'))
}

/// Two ASCII letters: a country code TLD.
fn is_country(label: &str) -> bool {
    label.len() == 2 && label.bytes().all(|b| b.is_ascii_alphabetic())
}

/// True when a URL's path (as written, before `?`/`#`) starts with `prefix` once
/// percent-decoded, `\` read as `/`, runs of `/` merged and `.`/`..` segments resolved,
/// without ASCII case. The merging, the decoding of `%2F` and the case are conservative:
/// they can only make more paths match.
fn path_starts_with(path: &str, prefix: &str) -> bool {
    let plain = !path.contains(['%', '\\', '.']) && !path.contains("//");
    if plain {
        let path = if path.is_empty() { "/" } else { path };
        return path
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix));
    }
    let decoded = percent_decode_lossy(path);
    let mut segments: Vec<&str> = Vec::new();
    let mut trailing_slash = true;
    for segment in decoded.split(['/', '\\']).filter(|s| !s.is_empty()) {
        trailing_slash = false;
        match segment {
            "." => trailing_slash = true,
            ".." => {
                segments.pop();
                trailing_slash = true;
            }
            _ => segments.push(segment),
        }
    }
    if decoded.ends_with(['/', '\\']) {
        trailing_slash = true;
    }
    let mut canonical = String::with_capacity(decoded.len() + 1);
    for segment in &segments {
        canonical.push('/');
        canonical.push_str(segment);
    }
    if trailing_slash || segments.is_empty() {
        canonical.push('/');
    }
    canonical
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// `%XX` decoded (once), the bytes read as UTF-8 with U+FFFD for what is not.
fn percent_decode_lossy(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|&h| char::from(h).to_digit(16));
        if let (b'%', Some(hi), Some(lo)) = (b, hex(i + 1), hex(i + 2)) {
            // Two hex digits: below 256.
            out.push(u8::try_from(hi * 16 + lo).unwrap_or_default());
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    match String::from_utf8_lossy(&out) {
        Cow::Borrowed(_) => Cow::Owned(String::from_utf8(out).unwrap_or_default()),
        Cow::Owned(s) => Cow::Owned(s),
    }
}

// ---------------------------------------------------------------------------------------
// Free text.

/// True when free text that code or a stylesheet may turn into a request names a blocked
/// destination: inline scripts, event handler attributes, CSS (`<style>` and `style=`),
/// `data-*` and any other attribute.
///
/// The text is searched as it is (ASCII case ignored) and, when it holds any of `& \ %`, TAB,
/// LF, CR or a non-ASCII character, normalised twice and searched again: character
/// references decoded, then JavaScript escapes (`\xHH`, `\uHHHH`, `\u{H…}`, legacy octal,
/// `\t`…) in one copy and CSS escapes (`\H…`, up to 6 hex digits and one optional
/// whitespace) in the other (`\d` is `d` to one and U+000D to the other), then
/// percent-decoded, TAB/LF/CR removed, `\` read as `/`, ASCII-lowercased, and what UTS 46
/// maps to one ASCII character (fullwidth forms, mathematical letters, circled letters,
/// `。`…) folded to it or, when it maps to nothing (soft hyphen, zero-width space), removed.
///
/// A host rule matches as a substring (conservative: the text is not parsed); a path rule as
/// the host followed by the path (an optional trailing dot and `:port` between, runs of `/`
/// merged): `googletagmanager.com/gtag/`, `google.<tld>/ads/ga-audiences`.
#[must_use]
pub fn text_is_blocked(raw: &str, rules: &[Rule]) -> bool {
    if rules.is_empty() {
        return false;
    }
    if normalised_text_is_blocked(raw.as_bytes(), rules) {
        return true;
    }
    if !raw
        .bytes()
        .any(|b| matches!(b, b'&' | b'\\' | b'%' | b'\t' | b'\n' | b'\r') || !b.is_ascii())
    {
        return false;
    }
    let decoded = decode_char_refs(raw);
    [Escapes::JavaScript, Escapes::Css]
        .into_iter()
        .any(|escapes| normalised_text_is_blocked(normalise(&decoded, escapes).as_bytes(), rules))
}

/// Whose escapes a text's backslashes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escapes {
    JavaScript,
    Css,
}

/// `text` with its escapes decoded, percent-decoded, and folded for searching.
fn normalise(text: &str, escapes: Escapes) -> String {
    let unescaped = match escapes {
        _ if !text.contains('\\') => Cow::Borrowed(text),
        Escapes::JavaScript => Cow::Owned(unescape_js(text)),
        Escapes::Css => Cow::Owned(unescape_css(text)),
    };
    let decoded = percent_decode_lossy(&unescaped);
    let mut out = String::with_capacity(decoded.len());
    for c in decoded.chars() {
        match c {
            '\t' | '\n' | '\r' => {}
            '\\' => out.push('/'),
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => match fold(c) {
                Some(0) => {}
                Some(ascii) => out.push(char::from(ascii).to_ascii_lowercase()),
                None => out.push(c),
            },
        }
    }
    out
}

/// JavaScript string escapes decoded: `\xHH`, `\uHHHH`, `\u{H…}`, legacy octal (`\147`),
/// `\b \f \n \r \t \v`, a line continuation removed, any other escaped character itself.
fn unescape_js(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let rest = chars.as_str();
        let (decoded, used) =
            match rest.chars().next() {
                None => (None, 0),
                Some('x') => hex_escape(rest.get(1..), 2, 2)
                    .map_or((Some('x'), 1), |(c, n)| (Some(c), n + 1)),
                Some('u') if rest.get(1..).is_some_and(|r| r.starts_with('{')) => {
                    let digits = rest.get(2..).unwrap_or_default();
                    match hex_escape(Some(digits), 1, 8) {
                        Some((c, n)) if digits.get(n..).is_some_and(|r| r.starts_with('}')) => {
                            (Some(c), n + 3)
                        }
                        _ => (Some('u'), 1),
                    }
                }
                Some('u') => hex_escape(rest.get(1..), 4, 4)
                    .map_or((Some('u'), 1), |(c, n)| (Some(c), n + 1)),
                Some(d @ '0'..='7') => {
                    // Legacy octal: up to three digits, at most 0o377.
                    let max = if d <= '3' { 3 } else { 2 };
                    let n = rest
                        .bytes()
                        .take(max)
                        .take_while(|b| (b'0'..=b'7').contains(b))
                        .count();
                    let value = rest
                        .get(..n)
                        .and_then(|o| u32::from_str_radix(o, 8).ok())
                        .and_then(char::from_u32);
                    (value, n)
                }
                Some('b') => (Some('\x08'), 1),
                Some('f') => (Some('\x0C'), 1),
                Some('n') => (Some('\n'), 1),
                Some('r') => (Some('\r'), 1),
                Some('t') => (Some('\t'), 1),
                Some('v') => (Some('\x0B'), 1),
                Some(c @ ('\n' | '\u{2028}' | '\u{2029}')) => (None, c.len_utf8()),
                Some('\r') => (None, if rest.starts_with("\r\n") { 2 } else { 1 }),
                Some(c) => (Some(c), c.len_utf8()),
            };
        out.extend(decoded);
        chars = rest.get(used..).unwrap_or_default().chars();
    }
    out
}

/// CSS escapes decoded: `\` and 1 to 6 hex digits, then one optional whitespace (CRLF
/// counting as one); 0, surrogates and past U+10FFFF as U+FFFD; a line continuation removed;
/// any other escaped character itself.
fn unescape_css(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let rest = chars.as_str();
        let (decoded, mut used) = match hex_escape(Some(rest), 1, 6) {
            Some((c, n)) => (Some(c), n),
            None => match rest.chars().next() {
                None => (None, 0),
                Some('\n' | '\x0C') => (None, 1),
                Some('\r') => (None, if rest.starts_with("\r\n") { 2 } else { 1 }),
                Some(c) => (Some(c), c.len_utf8()),
            },
        };
        if decoded.is_some() && rest.as_bytes().first().is_some_and(u8::is_ascii_hexdigit) {
            let after = rest.get(used..).unwrap_or_default();
            used += if after.starts_with("\r\n") {
                2
            } else {
                usize::from(after.starts_with([' ', '\t', '\n', '\r', '\x0C']))
            };
        }
        out.extend(decoded);
        chars = rest.get(used..).unwrap_or_default().chars();
    }
    out
}

/// `min` to `max` hex digits at the start of `s`: their character (U+FFFD for 0, a
/// surrogate or past U+10FFFF) and how many there were.
fn hex_escape(s: Option<&str>, min: usize, max: usize) -> Option<(char, usize)> {
    let s = s?;
    let n = s
        .bytes()
        .take(max)
        .take_while(u8::is_ascii_hexdigit)
        .count();
    if n < min {
        return None;
    }
    let value = u32::from_str_radix(s.get(..n)?, 16).ok()?;
    let c = if value == 0 {
        char::REPLACEMENT_CHARACTER
    } else {
        char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER)
    };
    Some((c, n))
}

/// The ASCII character UTS 46 maps `c` to, when it maps it to exactly one (0: to nothing).
fn fold(c: char) -> Option<u8> {
    let cp = u32::from(c);
    let i = FOLD
        .partition_point(|&(start, _, _)| start <= cp)
        .checked_sub(1)?;
    let &(start, len, target) = FOLD.get(i)?;
    let offset = cp - start;
    if offset >= u32::from(len) {
        return None;
    }
    if target == 0 {
        return Some(0);
    }
    u8::try_from(u32::from(target) + offset).ok()
}

/// True when normalised text names a blocked destination (bytes compared without ASCII
/// case, `\` as `/`).
fn normalised_text_is_blocked(text: &[u8], rules: &[Rule]) -> bool {
    rules.iter().any(|rule| match rule.host {
        HostPattern::Domain(domain) => occurrences(text, domain.as_bytes())
            .any(|end| rule.path_prefix.is_none_or(|p| path_follows(text, end, p))),
        HostPattern::GoogleAnyTld => occurrences(text, b"google.").any(|end| {
            tld_ends(text, end)
                .into_iter()
                .flatten()
                .any(|tld_end| match rule.path_prefix {
                    None => {
                        !text
                            .get(tld_end)
                            .is_some_and(|&b| is_label_byte(b) || b == b'.')
                            || text.get(tld_end) == Some(&b'.')
                                && !text.get(tld_end + 1).is_some_and(|&b| is_label_byte(b))
                    }
                    Some(p) => path_follows(text, tld_end, p),
                })
        }),
    })
}

/// The indices just past each occurrence of `needle` in `haystack` (ASCII case ignored).
fn occurrences<'a>(haystack: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let last_start = haystack.len().checked_sub(needle.len());
    (0..last_start.map_or(0, |l| l + 1)).filter_map(move |i| {
        let window = haystack.get(i..i + needle.len())?;
        window
            .iter()
            .zip(needle)
            .all(|(&a, &b)| fold_byte(a) == fold_byte(b))
            .then_some(i + needle.len())
    })
}

/// A byte as the text search compares it.
fn fold_byte(b: u8) -> u8 {
    if b == b'\\' {
        b'/'
    } else {
        b.to_ascii_lowercase()
    }
}

/// ASCII letters, digits and `-`.
fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Where a Google TLD (`com`, two letters, `co.`/`com.` and two letters) starting at `at`
/// could end.
fn tld_ends(text: &[u8], at: usize) -> [Option<usize>; 4] {
    let letters = |i: usize| {
        text.get(i..i + 2)
            .is_some_and(|l| l.iter().all(u8::is_ascii_alphabetic))
            .then_some(i + 2)
    };
    let word = |w: &[u8]| {
        text.get(at..at + w.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(w))
            .then_some(at + w.len())
    };
    [
        letters(at),
        word(b"com"),
        word(b"co.").and_then(letters),
        word(b"com.").and_then(letters),
    ]
}

/// True when `prefix` (a path, starting with `/`) follows at `at`, after an optional
/// trailing dot and `:port`, runs of `/` (or `\`) read as one.
fn path_follows(text: &[u8], at: usize, prefix: &str) -> bool {
    let mut i = at;
    if text.get(i) == Some(&b'.') {
        i += 1;
    }
    if text.get(i) == Some(&b':') {
        i += 1;
        while text.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let Some(rest) = prefix.strip_prefix('/') else {
        return false;
    };
    if !matches!(text.get(i).copied().map(fold_byte), Some(b'/')) {
        return false;
    }
    while matches!(text.get(i).copied().map(fold_byte), Some(b'/')) {
        i += 1;
    }
    text.get(i..i + rest.len()).is_some_and(|t| {
        t.iter()
            .zip(rest.as_bytes())
            .all(|(&a, &b)| fold_byte(a) == fold_byte(b))
    })
}

/// What UTS 46 maps to one ASCII character (0: to nothing): `(first code point, how many,
/// the first one's ASCII)`, the ASCII counting up with the code point. Generated from the
/// `idna` crate (`tables::print_tables` below) and checked against it, every code point of
/// the planes in use, by `tables::fold_table_matches_uts46`.
const FOLD: &[(u32, u8, u8)] = &[
    (0xA0, 1, b' '),
    (0xAA, 1, b'a'),
    (0xAD, 1, 0),
    (0xB2, 2, b'2'),
    (0xB9, 1, b'1'),
    (0xBA, 1, b'o'),
    (0x17F, 1, b's'),
    (0x2B0, 1, b'h'),
    (0x2B2, 1, b'j'),
    (0x2B3, 1, b'r'),
    (0x2B7, 1, b'w'),
    (0x2B8, 1, b'y'),
    (0x2E1, 1, b'l'),
    (0x2E2, 1, b's'),
    (0x2E3, 1, b'x'),
    (0x34F, 1, 0),
    (0x37E, 1, b';'),
    (0x115F, 2, 0),
    (0x17B4, 2, 0),
    (0x180B, 5, 0),
    (0x1D2C, 1, b'a'),
    (0x1D2E, 1, b'b'),
    (0x1D30, 2, b'd'),
    (0x1D33, 8, b'g'),
    (0x1D3C, 1, b'o'),
    (0x1D3E, 1, b'p'),
    (0x1D3F, 1, b'r'),
    (0x1D40, 2, b't'),
    (0x1D42, 1, b'w'),
    (0x1D43, 1, b'a'),
    (0x1D47, 1, b'b'),
    (0x1D48, 2, b'd'),
    (0x1D4D, 1, b'g'),
    (0x1D4F, 1, b'k'),
    (0x1D50, 1, b'm'),
    (0x1D52, 1, b'o'),
    (0x1D56, 1, b'p'),
    (0x1D57, 2, b't'),
    (0x1D5B, 1, b'v'),
    (0x1D62, 1, b'i'),
    (0x1D63, 1, b'r'),
    (0x1D64, 2, b'u'),
    (0x1D9C, 1, b'c'),
    (0x1DA0, 1, b'f'),
    (0x1DBB, 1, b'z'),
    (0x1FEF, 1, b'`'),
    (0x2000, 1, b' '),
    (0x2001, 1, b' '),
    (0x2002, 1, b' '),
    (0x2003, 1, b' '),
    (0x2004, 1, b' '),
    (0x2005, 1, b' '),
    (0x2006, 1, b' '),
    (0x2007, 1, b' '),
    (0x2008, 1, b' '),
    (0x2009, 1, b' '),
    (0x200A, 1, b' '),
    (0x200B, 1, 0),
    (0x202F, 1, b' '),
    (0x205F, 1, b' '),
    (0x2060, 5, 0),
    (0x206A, 6, 0),
    (0x2070, 1, b'0'),
    (0x2071, 1, b'i'),
    (0x2074, 6, b'4'),
    (0x207A, 1, b'+'),
    (0x207C, 1, b'='),
    (0x207D, 2, b'('),
    (0x207F, 1, b'n'),
    (0x2080, 10, b'0'),
    (0x208A, 1, b'+'),
    (0x208C, 1, b'='),
    (0x208D, 2, b'('),
    (0x2090, 1, b'a'),
    (0x2091, 1, b'e'),
    (0x2092, 1, b'o'),
    (0x2093, 1, b'x'),
    (0x2095, 1, b'h'),
    (0x2096, 4, b'k'),
    (0x209A, 1, b'p'),
    (0x209B, 2, b's'),
    (0x209D, 1, b'w'),
    (0x209E, 2, b'y'),
    (0x2102, 1, b'c'),
    (0x210A, 2, b'g'),
    (0x210C, 1, b'h'),
    (0x210D, 1, b'h'),
    (0x210E, 1, b'h'),
    (0x2110, 1, b'i'),
    (0x2111, 1, b'i'),
    (0x2112, 1, b'l'),
    (0x2113, 1, b'l'),
    (0x2115, 1, b'n'),
    (0x2119, 3, b'p'),
    (0x211C, 1, b'r'),
    (0x211D, 1, b'r'),
    (0x2124, 1, b'z'),
    (0x2128, 1, b'z'),
    (0x212A, 1, b'k'),
    (0x212C, 2, b'b'),
    (0x212F, 1, b'e'),
    (0x2130, 2, b'e'),
    (0x2133, 1, b'm'),
    (0x2134, 1, b'o'),
    (0x2139, 1, b'i'),
    (0x2145, 1, b'd'),
    (0x2146, 2, b'd'),
    (0x2148, 2, b'i'),
    (0x2160, 1, b'i'),
    (0x2164, 1, b'v'),
    (0x2169, 1, b'x'),
    (0x216C, 1, b'l'),
    (0x216D, 2, b'c'),
    (0x216F, 1, b'm'),
    (0x2170, 1, b'i'),
    (0x2174, 1, b'v'),
    (0x2179, 1, b'x'),
    (0x217C, 1, b'l'),
    (0x217D, 2, b'c'),
    (0x217F, 1, b'm'),
    (0x2460, 9, b'1'),
    (0x24B6, 26, b'a'),
    (0x24D0, 26, b'a'),
    (0x24EA, 1, b'0'),
    (0x2C7C, 1, b'j'),
    (0x2C7D, 1, b'v'),
    (0x3000, 1, b' '),
    (0x3002, 1, b'.'),
    (0x3164, 1, 0),
    (0xA7F1, 1, b's'),
    (0xA7F2, 1, b'c'),
    (0xA7F3, 1, b'f'),
    (0xA7F4, 1, b'q'),
    (0xFB29, 1, b'+'),
    (0xFE00, 16, 0),
    (0xFE10, 1, b','),
    (0xFE13, 2, b':'),
    (0xFE15, 1, b'!'),
    (0xFE16, 1, b'?'),
    (0xFE33, 1, b'_'),
    (0xFE34, 1, b'_'),
    (0xFE35, 2, b'('),
    (0xFE37, 1, b'{'),
    (0xFE38, 1, b'}'),
    (0xFE47, 1, b'['),
    (0xFE48, 1, b']'),
    (0xFE4D, 1, b'_'),
    (0xFE4E, 1, b'_'),
    (0xFE4F, 1, b'_'),
    (0xFE50, 1, b','),
    (0xFE54, 1, b';'),
    (0xFE55, 1, b':'),
    (0xFE56, 1, b'?'),
    (0xFE57, 1, b'!'),
    (0xFE59, 2, b'('),
    (0xFE5B, 1, b'{'),
    (0xFE5C, 1, b'}'),
    (0xFE5F, 1, b'#'),
    (0xFE60, 1, b'&'),
    (0xFE61, 2, b'*'),
    (0xFE63, 1, b'-'),
    (0xFE64, 1, b'<'),
    (0xFE65, 1, b'>'),
    (0xFE66, 1, b'='),
    (0xFE68, 1, b'\\'),
    (0xFE69, 2, b'$'),
    (0xFE6B, 1, b'@'),
    (0xFEFF, 1, 0),
    (0xFF01, 32, b'!'),
    (0xFF21, 26, b'a'),
    (0xFF3B, 36, b'['),
    (0xFF61, 1, b'.'),
    (0xFFA0, 1, 0),
    (0x107A5, 1, b'q'),
    (0x1BCA0, 4, 0),
    (0x1CCD6, 26, b'a'),
    (0x1CCF0, 10, b'0'),
    (0x1D173, 8, 0),
    (0x1D400, 26, b'a'),
    (0x1D41A, 26, b'a'),
    (0x1D434, 26, b'a'),
    (0x1D44E, 7, b'a'),
    (0x1D456, 18, b'i'),
    (0x1D468, 26, b'a'),
    (0x1D482, 26, b'a'),
    (0x1D49C, 1, b'a'),
    (0x1D49E, 2, b'c'),
    (0x1D4A2, 1, b'g'),
    (0x1D4A5, 2, b'j'),
    (0x1D4A9, 4, b'n'),
    (0x1D4AE, 8, b's'),
    (0x1D4B6, 4, b'a'),
    (0x1D4BB, 1, b'f'),
    (0x1D4BD, 7, b'h'),
    (0x1D4C5, 11, b'p'),
    (0x1D4D0, 26, b'a'),
    (0x1D4EA, 26, b'a'),
    (0x1D504, 2, b'a'),
    (0x1D507, 4, b'd'),
    (0x1D50D, 8, b'j'),
    (0x1D516, 7, b's'),
    (0x1D51E, 26, b'a'),
    (0x1D538, 2, b'a'),
    (0x1D53B, 4, b'd'),
    (0x1D540, 5, b'i'),
    (0x1D546, 1, b'o'),
    (0x1D54A, 7, b's'),
    (0x1D552, 26, b'a'),
    (0x1D56C, 26, b'a'),
    (0x1D586, 26, b'a'),
    (0x1D5A0, 26, b'a'),
    (0x1D5BA, 26, b'a'),
    (0x1D5D4, 26, b'a'),
    (0x1D5EE, 26, b'a'),
    (0x1D608, 26, b'a'),
    (0x1D622, 26, b'a'),
    (0x1D63C, 26, b'a'),
    (0x1D656, 26, b'a'),
    (0x1D670, 26, b'a'),
    (0x1D68A, 26, b'a'),
    (0x1D7CE, 10, b'0'),
    (0x1D7D8, 10, b'0'),
    (0x1D7E2, 10, b'0'),
    (0x1D7EC, 10, b'0'),
    (0x1D7F6, 10, b'0'),
    (0x1F12B, 1, b'c'),
    (0x1F12C, 1, b'r'),
    (0x1F130, 26, b'a'),
    (0x1FBF0, 10, b'0'),
    (0xE0100, 240, 0),
];

/// The tables checked against their sources: the full WHATWG table (`htmlize`) and UTS 46
/// (`idna`, the `url` crate's).
#[cfg(test)]
mod tables {
    use super::{fold, named, FOLD, NAMED};
    use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

    /// What UTS 46 maps `s` to, between two ASCII letters, when that is ASCII.
    fn uts46_ascii(s: &str) -> Option<String> {
        if s.is_ascii() {
            return Some(s.to_owned());
        }
        let input = format!("x{s}y");
        let out = Uts46::new()
            .to_ascii(
                input.as_bytes(),
                AsciiDenyList::EMPTY,
                Hyphens::Allow,
                DnsLength::Ignore,
            )
            .ok()?;
        (!out.split('.').any(|label| label.starts_with("xn--")))
            .then(|| out.get(1..out.len() - 1).map(str::to_owned))
            .flatten()
    }

    /// Every name of the full table whose expansion is ASCII or UTS 46-maps to ASCII is in
    /// [`NAMED`], with its expansion and legacy form; no other name is, and nothing in it is
    /// wrong.
    #[test]
    fn named_table_matches_the_whatwg_table() {
        let mut wanted = 0;
        for (key, expansion) in htmlize::ENTITIES.entries() {
            let key = std::str::from_utf8(key).unwrap();
            let expansion = std::str::from_utf8(expansion).unwrap();
            let name = key.trim_start_matches('&');
            let (name, semicolon) = match name.strip_suffix(';') {
                Some(name) => (name, true),
                None => (name, false),
            };
            let ours = named(name, semicolon);
            if uts46_ascii(expansion).is_some() {
                wanted += 1;
                assert_eq!(ours, Some(expansion), "{key}");
            } else {
                assert_eq!(ours, None, "{key} expands to {expansion:?}, not ASCII");
            }
        }
        let legacy = NAMED
            .split_terminator('\0')
            .filter(|r| {
                r.trim_start_matches(|c: char| c.is_ascii_alphanumeric())
                    .starts_with('!')
            })
            .count();
        assert_eq!(NAMED.split_terminator('\0').count() + legacy, wanted);
    }

    /// [`fold`] is UTS 46's mapping of each code point to one ASCII character (or to
    /// nothing), every code point of the planes in use.
    #[test]
    fn fold_table_matches_uts46() {
        let planes = (0x80..0x3_0000).chain(0xE_0000..0xE_1000);
        for c in planes.filter_map(char::from_u32) {
            let want = uts46_ascii(&c.to_string()).and_then(|m| match m.as_bytes() {
                [] => Some(0),
                [b] => Some(*b),
                _ => None,
            });
            assert_eq!(fold(c), want, "U+{:04X}", u32::from(c));
        }
        assert!(FOLD
            .windows(2)
            .all(|w| w[0].0 + u32::from(w[0].1) <= w[1].0));
    }

    /// Prints [`NAMED`] and [`FOLD`] anew from their sources:
    /// `cargo test -p consent-core --lib -- --ignored --nocapture print_tables`.
    #[test]
    #[ignore = "a generator, not a check"]
    fn print_tables() {
        let mut records: Vec<(String, char, String)> = Vec::new();
        for (key, expansion) in htmlize::ENTITIES.entries() {
            let key = std::str::from_utf8(key).unwrap();
            let expansion = std::str::from_utf8(expansion).unwrap();
            if uts46_ascii(expansion).is_none() {
                continue;
            }
            let name = key.trim_start_matches('&');
            match name.strip_suffix(';') {
                Some(name) if !records.iter().any(|r| r.0 == name) => {
                    records.push((name.to_owned(), ';', expansion.to_owned()));
                }
                Some(_) => {}
                None => {
                    if let Some(r) = records.iter_mut().find(|r| r.0 == name) {
                        r.1 = '!';
                    } else {
                        records.push((name.to_owned(), '!', expansion.to_owned()));
                    }
                }
            }
        }
        records.sort();
        println!("const NAMED: &str = concat!(");
        for (name, marker, expansion) in &records {
            println!("    {:?},", format!("{name}{marker}{expansion}\0"));
        }
        println!(");");
        let mut runs: Vec<(u32, u32, u8)> = Vec::new();
        for c in (0x80..=0x10_FFFF).filter_map(char::from_u32) {
            let target = match uts46_ascii(&c.to_string()).as_deref().map(str::as_bytes) {
                Some([]) => 0,
                Some([b]) => *b,
                _ => continue,
            };
            let cp = u32::from(c);
            if let Some(last) = runs.last_mut() {
                let follows = last.0 + last.1 == cp
                    && ((last.2 == 0 && target == 0)
                        || (last.2 != 0 && u32::from(last.2) + last.1 == u32::from(target)));
                if follows {
                    last.1 += 1;
                    continue;
                }
            }
            runs.push((cp, 1, target));
        }
        println!("const FOLD: &[(u32, u8, u8)] = &[");
        for (start, len, target) in runs {
            let target = if target == 0 {
                "0".to_owned()
            } else {
                format!("b{:?}", char::from(target))
            };
            println!("    (0x{start:X}, {len}, {target}),");
        }
        println!("];");
    }
}

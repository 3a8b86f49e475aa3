//! The facts the site's published privacy policy states about who is asking and where the
//! data goes (docs/compliance.md rule 6): one source, like the cookie inventory, so the
//! banner, the pages and a future policy change cannot drift apart. Texts name these facts by
//! placeholder (`{controller}`, `{privacy_email}`, …) and [`fill_text`] / [`fill_html`] put
//! them in; the banner's hash (sealed in every record) changes when they change.

use crate::html::escape_html;
use crate::i18n::Lang;

/// The controller of the visitors' data.
pub const CONTROLLER: &str = "Cloudtree Solutions, S.L.";
/// The product and site the visitor knows.
pub const BRAND: &str = "SIVO";
/// Where rights are exercised.
pub const PRIVACY_EMAIL: &str = "privacy@sivocenter.com";
/// The data protection officer.
pub const DPO_EMAIL: &str = "dpo@sivocenter.com";
/// The longest the controller takes to answer a rights request, in days.
pub const ANSWER_DAYS: u32 = 30;
/// The supervisory authority a visitor may complain to.
pub const AUTHORITY: &str = "AEPD";
/// Its address.
pub const AUTHORITY_URL: &str = "https://www.aepd.es";

/// A processor that receives data the worker governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Processor {
    /// Its legal name.
    pub name: &'static str,
    /// The transfer safeguards, as the privacy policy lists them, in English.
    pub safeguards_en: &'static str,
    /// The same, in Spanish.
    pub safeguards_es: &'static str,
}

/// Google Ireland Ltd.: GA4 and GTM (EU / USA).
pub const GOOGLE: Processor = Processor {
    name: "Google Ireland Ltd.",
    safeguards_en: "a data processing agreement, Standard Contractual Clauses and the EU–US adequacy decision (DPA + SCC + USA adequacy)",
    safeguards_es: "un contrato de encargo, cláusulas contractuales tipo y la decisión de adecuación UE–EE. UU. (DPA + SCC + adecuación de EE. UU.)",
};

/// Cloudflare, Inc.: the edge where this worker runs and the proof records are kept.
pub const CLOUDFLARE: Processor = Processor {
    name: "Cloudflare, Inc.",
    safeguards_en: "a data processing agreement and Standard Contractual Clauses (DPA + SCC)",
    safeguards_es: "un contrato de encargo y cláusulas contractuales tipo (DPA + SCC)",
};

impl Processor {
    /// The safeguards in `lang`.
    #[must_use]
    pub fn safeguards(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.safeguards_en,
            Lang::Es => self.safeguards_es,
        }
    }
}

/// `text` with every fact's placeholder replaced by the fact, as plain text.
#[must_use]
pub fn fill_text(text: &str, lang: Lang) -> String {
    fill(
        text,
        lang,
        ToOwned::to_owned,
        ToOwned::to_owned,
        ToOwned::to_owned,
    )
}

/// `text` escaped for HTML, with every placeholder replaced by the fact (escaped), e-mail
/// addresses and the authority's address as links.
#[must_use]
pub fn fill_html(text: &str, lang: Lang) -> String {
    fill(
        &escape_html(text),
        lang,
        escape_html,
        |email| format!(r#"<a href="mailto:{email}">{email}</a>"#),
        |url| format!(r#"<a href="{url}" rel="noopener">{url}</a>"#),
    )
}

fn fill(
    text: &str,
    lang: Lang,
    fact: impl Fn(&str) -> String,
    email: impl Fn(&str) -> String,
    url: impl Fn(&str) -> String,
) -> String {
    [
        ("{controller}", fact(CONTROLLER)),
        ("{brand}", fact(BRAND)),
        ("{google}", fact(GOOGLE.name)),
        ("{google_safeguards}", fact(GOOGLE.safeguards(lang))),
        ("{cloudflare}", fact(CLOUDFLARE.name)),
        ("{cloudflare_safeguards}", fact(CLOUDFLARE.safeguards(lang))),
        ("{privacy_email}", email(PRIVACY_EMAIL)),
        ("{dpo_email}", email(DPO_EMAIL)),
        ("{answer_days}", ANSWER_DAYS.to_string()),
        ("{authority}", fact(AUTHORITY)),
        ("{authority_url}", url(AUTHORITY_URL)),
    ]
    .iter()
    .fold(text.to_owned(), |out, (placeholder, value)| {
        out.replace(placeholder, value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_the_facts() {
        let t = fill_text(
            "{controller} ({brand}): {privacy_email}, {dpo_email}, {answer_days}",
            Lang::En,
        );
        assert_eq!(
            t,
            "Cloudtree Solutions, S.L. (SIVO): privacy@sivocenter.com, dpo@sivocenter.com, 30"
        );
        let h = fill_html("<{dpo_email}> {authority_url}", Lang::Es);
        assert_eq!(
            h,
            r#"&lt;<a href="mailto:dpo@sivocenter.com">dpo@sivocenter.com</a>&gt; <a href="https://www.aepd.es" rel="noopener">https://www.aepd.es</a>"#
        );
    }

    #[test]
    fn no_text_restates_a_fact_instead_of_naming_its_placeholder() {
        // One source: a fact written out in a text would not change with the policy.
        for lang in Lang::ALL {
            let texts = format!("{:?}", lang.texts());
            for fact in [
                CONTROLLER,
                "Cloudtree",
                PRIVACY_EMAIL,
                DPO_EMAIL,
                GOOGLE.name,
                CLOUDFLARE.name,
                AUTHORITY_URL,
            ] {
                assert!(!texts.contains(fact), "{lang:?} restates {fact}");
            }
        }
    }
}

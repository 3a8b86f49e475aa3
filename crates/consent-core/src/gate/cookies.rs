//! Every cookie the site may set: one inventory that both the cookie policy and the code
//! that drops and expires cookies read, so what visitors are told cannot drift from what the
//! worker does (docs/compliance.md rules 7 and 9).

use crate::consent::cookie::{cookie_pair, COOKIE_NAME, EXPIRED_NOW};
use crate::consent::Choices;
use crate::site::{Processor, GOOGLE};

/// The purpose a cookie serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Needs no consent: the site cannot honour the visitor's choice without it.
    Necessary,
    /// Audience measurement; consent required in Spain for third-party tools.
    Analytics,
    /// Advertising.
    Marketing,
}

/// How a cookie's name is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameMatch {
    /// Exactly this name.
    Exact(&'static str),
    /// This name, or this name followed by anything (`_ga_<id>`, `_gat_gtag_…`).
    Prefix(&'static str),
}

impl NameMatch {
    /// True when `name` matches.
    #[must_use]
    pub fn matches(self, name: &str) -> bool {
        match self {
            NameMatch::Exact(n) => name == n,
            NameMatch::Prefix(p) => name.starts_with(p),
        }
    }
}

/// One cookie (or family of cookies) of the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieEntry {
    /// Its name, as shown (`_ga_<container-id>`).
    pub name: &'static str,
    /// How the name is matched.
    pub matches: NameMatch,
    /// The service that sets it.
    pub service: &'static str,
    /// The processor that receives its data, if any (`crate::site`).
    pub processor: Option<&'static Processor>,
    /// First party (set on the site's own domain) or third party.
    pub first_party: bool,
    /// Its purpose category.
    pub category: Category,
    /// What it is for, in English.
    pub purpose_en: &'static str,
    /// What it is for, in Spanish.
    pub purpose_es: &'static str,
    /// How long it lives, in English.
    pub lifetime_en: &'static str,
    /// How long it lives, in Spanish.
    pub lifetime_es: &'static str,
}

/// The inventory.
pub const INVENTORY: [CookieEntry; 12] = [
    CookieEntry {
        name: COOKIE_NAME,
        matches: NameMatch::Exact(COOKIE_NAME),
        service: "SIVO (sivocenter.com)",
        processor: None,
        first_party: true,
        category: Category::Necessary,
        purpose_en: "Remembers your cookie choice, signed so it cannot be forged; unreadable by scripts.",
        purpose_es: "Recuerda tu decisión sobre cookies, firmada para que no pueda falsificarse; los scripts no pueden leerla.",
        lifetime_en: "Up to 12 months (CONSENT_MAX_AGE_DAYS)",
        lifetime_es: "Hasta 12 meses (CONSENT_MAX_AGE_DAYS)",
    },
    CookieEntry {
        name: "_ga",
        matches: NameMatch::Exact("_ga"),
        service: "Google Analytics 4",
        processor: Some(&GOOGLE),
        first_party: true,
        category: Category::Analytics,
        purpose_en: "Distinguishes visitors to count visits and pages in aggregate.",
        purpose_es: "Distingue visitantes para contar visitas y páginas de forma agregada.",
        lifetime_en: "26 months at most",
        lifetime_es: "26 meses como máximo",
    },
    CookieEntry {
        name: "_ga_<container-id>",
        matches: NameMatch::Prefix("_ga_"),
        service: "Google Analytics 4",
        processor: Some(&GOOGLE),
        first_party: true,
        category: Category::Analytics,
        purpose_en: "Keeps the state of the current session for GA4.",
        purpose_es: "Guarda el estado de la sesión actual para GA4.",
        lifetime_en: "26 months at most",
        lifetime_es: "26 meses como máximo",
    },
    CookieEntry {
        name: "_gid",
        matches: NameMatch::Exact("_gid"),
        service: "Google Analytics",
        processor: Some(&GOOGLE),
        first_party: true,
        category: Category::Analytics,
        purpose_en: "Distinguishes visitors within one day.",
        purpose_es: "Distingue visitantes dentro de un mismo día.",
        lifetime_en: "24 hours",
        lifetime_es: "24 horas",
    },
    CookieEntry {
        name: "_gat*",
        matches: NameMatch::Prefix("_gat"),
        service: "Google Analytics / Tag Manager",
        processor: Some(&GOOGLE),
        first_party: true,
        category: Category::Analytics,
        purpose_en: "Throttles the rate of measurement requests.",
        purpose_es: "Limita la frecuencia de las peticiones de medición.",
        lifetime_en: "1 minute",
        lifetime_es: "1 minuto",
    },
    CookieEntry {
        name: "_gcl_*",
        matches: NameMatch::Prefix("_gcl_"),
        service: "Google Ads via Tag Manager",
        processor: Some(&GOOGLE),
        first_party: true,
        category: Category::Marketing,
        purpose_en: "Links a visit to the ad that brought it (conversion measurement).",
        purpose_es: "Relaciona una visita con el anuncio que la originó (medición de conversiones).",
        lifetime_en: "90 days",
        lifetime_es: "90 días",
    },
    CookieEntry {
        name: "_gac_gb_*",
        matches: NameMatch::Prefix("_gac_gb_"),
        service: "Google Ads via Tag Manager",
        processor: Some(&GOOGLE),
        first_party: true,
        category: Category::Marketing,
        purpose_en: "Keeps the ad click of a visit for Google Ads conversions (\u{201c}GCLID\u{201d}, GA4 links).",
        purpose_es: "Guarda el clic en el anuncio de una visita para las conversiones de Google Ads (GCLID, enlace con GA4).",
        lifetime_en: "90 days",
        lifetime_es: "90 días",
    },
    CookieEntry {
        name: "_gac_*",
        matches: NameMatch::Prefix("_gac_"),
        service: "Google Analytics / Google Ads",
        processor: Some(&GOOGLE),
        first_party: true,
        category: Category::Marketing,
        purpose_en: "Holds campaign information for Google Ads linked to Analytics.",
        purpose_es: "Guarda información de campaña de Google Ads vinculada a Analytics.",
        lifetime_en: "90 days",
        lifetime_es: "90 días",
    },
    CookieEntry {
        name: "FPID",
        matches: NameMatch::Exact("FPID"),
        service: "Google Analytics server-side tagging",
        processor: Some(&GOOGLE),
        first_party: true,
        category: Category::Analytics,
        purpose_en: "Distinguishes visitors when Analytics is tagged through the site's own server (first-party id).",
        purpose_es: "Distingue visitantes cuando Analytics se etiqueta a través del propio servidor del sitio (id propio).",
        lifetime_en: "2 years at most",
        lifetime_es: "2 años como máximo",
    },
    CookieEntry {
        name: "FPLID",
        matches: NameMatch::Exact("FPLID"),
        service: "Google Analytics server-side tagging",
        processor: Some(&GOOGLE),
        first_party: true,
        category: Category::Analytics,
        purpose_en: "Carries the first-party id across the site's own domains (linker).",
        purpose_es: "Lleva el id propio entre los dominios del propio sitio (enlazador).",
        lifetime_en: "20 seconds",
        lifetime_es: "20 segundos",
    },
    CookieEntry {
        name: "FPGCL*",
        matches: NameMatch::Prefix("FPGCL"),
        service: "Google Ads server-side tagging",
        processor: Some(&GOOGLE),
        first_party: true,
        category: Category::Marketing,
        purpose_en: "Keeps the ad click of a visit when Ads is tagged through the site's own server.",
        purpose_es: "Guarda el clic en el anuncio cuando Ads se etiqueta a través del propio servidor del sitio.",
        lifetime_en: "90 days",
        lifetime_es: "90 días",
    },
    CookieEntry {
        name: "FPAU",
        matches: NameMatch::Exact("FPAU"),
        service: "Google Ads server-side tagging",
        processor: Some(&GOOGLE),
        first_party: true,
        category: Category::Marketing,
        purpose_en: "Links conversions to the visitor when Ads is tagged through the site's own server.",
        purpose_es: "Relaciona conversiones con el visitante cuando Ads se etiqueta a través del propio servidor.",
        lifetime_en: "90 days",
        lifetime_es: "90 días",
    },
];

impl CookieEntry {
    /// Who sets it: the service, and the processor that receives the data.
    #[must_use]
    pub fn provider(&self) -> String {
        match self.processor {
            Some(p) => format!("{} ({})", self.service, p.name),
            None => self.service.to_owned(),
        }
    }
}

/// The inventory entry of a cookie name, if it is one of ours.
#[must_use]
pub fn entry_for(name: &str) -> Option<&'static CookieEntry> {
    INVENTORY.iter().find(|e| e.matches.matches(name))
}

/// True when a cookie of this name may be set or sent under `choices`. Cookies not in the
/// inventory are the origin's own business and pass.
#[must_use]
pub fn allowed(name: &str, choices: Choices) -> bool {
    match entry_for(name).map(|e| e.category) {
        Some(Category::Analytics) => choices.analytics,
        Some(Category::Marketing) => choices.marketing,
        Some(Category::Necessary) | None => true,
    }
}

/// The name of the cookie a `Set-Cookie` value sets.
#[must_use]
pub fn set_cookie_name(set_cookie: &str) -> Option<String> {
    let first = set_cookie.split(';').next().unwrap_or_default();
    cookie_pair(first).map(|(name, _)| name.to_owned())
}

/// A `Cookie` request header without the cookies `choices` does not allow, or `None` when
/// nothing is left.
#[must_use]
pub fn filter_cookie_header(header: &str, choices: Choices) -> Option<String> {
    let kept: Vec<&str> = header
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .filter(|pair| allowed(pair.split('=').next().unwrap_or("").trim(), choices))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// `Set-Cookie` values that expire every cookie in `present` (names the browser sent) that
/// `choices` does not allow, for each domain variant GA writes: host-only, the registrable
/// domain (`.sivocenter.com`), and the full host. GA always uses `Path=/`.
#[must_use]
pub fn expire_disallowed(present: &[String], choices: Choices, host: &str) -> Vec<String> {
    if present.iter().all(|n| allowed(n, choices)) {
        // The common case, on every response: nothing to expire, no domain to work out.
        return Vec::new();
    }
    let host = host_without_port(host);
    let mut domains: Vec<Option<String>> = vec![None];
    if let Some(registrable) = registrable_domain(host) {
        if registrable != host {
            domains.push(Some(host.to_owned()));
        }
        domains.push(Some(registrable));
    }
    let mut out = Vec::new();
    for name in present.iter().filter(|n| !allowed(n, choices)) {
        for domain in &domains {
            // A leading dot is dropped, as the `cookie` crate did (browsers ignore it).
            let domain = domain.as_deref().map_or(String::new(), |d| {
                format!("; Domain={}", d.strip_prefix('.').unwrap_or(d))
            });
            out.push(format!(
                "{name}=; SameSite=Lax; Path=/{domain}{EXPIRED_NOW}"
            ));
        }
    }
    out
}

fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host;
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// The last two labels of a DNS name (`www.sivocenter.com` → `sivocenter.com`); `None` for
/// IP addresses and single-label hosts such as `localhost`, where only host-only cookies exist.
#[must_use]
pub fn registrable_domain(host: &str) -> Option<String> {
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return None;
    }
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    if labels.len() < 2 {
        return None;
    }
    Some(labels[labels.len() - 2..].join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANALYTICS_ONLY: Choices = Choices {
        analytics: true,
        marketing: false,
    };

    #[test]
    fn names_map_to_categories() {
        for (name, category) in [
            ("_ga", Category::Analytics),
            ("_ga_ABC123", Category::Analytics),
            ("_gid", Category::Analytics),
            ("_gat", Category::Analytics),
            ("_gat_gtag_UA_1", Category::Analytics),
            ("_gcl_au", Category::Marketing),
            ("_gac_UA-1234-1", Category::Marketing),
            ("_gac_gb_G-ABC", Category::Marketing),
            ("FPID", Category::Analytics),
            ("FPLID", Category::Analytics),
            ("FPAU", Category::Marketing),
            ("FPGCLAW", Category::Marketing),
            (COOKIE_NAME, Category::Necessary),
        ] {
            assert_eq!(
                entry_for(name).map(|e| e.category),
                Some(category),
                "{name}"
            );
        }
        assert_eq!(entry_for("session"), None);
        assert_eq!(entry_for("_gax"), None, "not a GA cookie");
    }

    #[test]
    fn only_the_consent_cookie_is_necessary() {
        // docs/compliance.md rule 5: non-essential cookies are never labelled essential.
        let necessary: Vec<&str> = INVENTORY
            .iter()
            .filter(|e| e.category == Category::Necessary)
            .map(|e| e.name)
            .collect();
        assert_eq!(necessary, [COOKIE_NAME]);
        assert!(INVENTORY
            .iter()
            .filter(|e| e.provider().contains("Google"))
            .all(|e| e.category != Category::Necessary));
    }

    #[test]
    fn allowed_follows_the_choices() {
        assert!(!allowed("_ga", Choices::NONE) && allowed("_ga", ANALYTICS_ONLY));
        assert!(!allowed("_gcl_au", ANALYTICS_ONLY) && allowed("_gcl_au", Choices::ALL));
        assert!(allowed("origin_session", Choices::NONE) && allowed(COOKIE_NAME, Choices::NONE));
    }

    #[test]
    fn the_cookie_header_loses_what_is_not_allowed() {
        let h = "_ga=GA1.1.1.2; origin_session=abc; _gcl_au=1.1; _ga_XYZ=GS1";
        assert_eq!(
            filter_cookie_header(h, Choices::NONE).as_deref(),
            Some("origin_session=abc")
        );
        assert_eq!(
            filter_cookie_header(h, ANALYTICS_ONLY).as_deref(),
            Some("_ga=GA1.1.1.2; origin_session=abc; _ga_XYZ=GS1")
        );
        assert_eq!(filter_cookie_header("_ga=1", Choices::NONE), None);
    }

    #[test]
    fn expiry_covers_every_domain_variant() {
        let present = vec![
            "_ga".to_owned(),
            "_gcl_au".to_owned(),
            "origin_session".to_owned(),
        ];
        let out = expire_disallowed(&present, ANALYTICS_ONLY, "www.sivocenter.com:443");
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(out.iter().all(|c| c.starts_with("_gcl_au=;")
            && c.contains("Max-Age=0")
            && c.contains("Path=/")));
        assert!(out.iter().any(|c| !c.contains("Domain")));
        assert!(out.iter().any(|c| c.contains("Domain=www.sivocenter.com")));
        assert!(out.iter().any(|c| c.contains("Domain=sivocenter.com")));
        let none = expire_disallowed(&present, Choices::NONE, "sivocenter.com");
        assert_eq!(
            none.len(),
            4,
            "host-only and the registrable domain, for _ga and _gcl_au: {none:?}"
        );
        let local = expire_disallowed(&present, Choices::NONE, "127.0.0.1:8787");
        assert_eq!(local.len(), 2, "an IP host has host-only cookies only");
    }

    #[test]
    fn registrable_domains() {
        assert_eq!(
            registrable_domain("www.sivocenter.com").as_deref(),
            Some("sivocenter.com")
        );
        assert_eq!(
            registrable_domain("sivocenter.com").as_deref(),
            Some("sivocenter.com")
        );
        assert_eq!(registrable_domain("localhost"), None);
        assert_eq!(registrable_domain("10.0.0.1"), None);
        assert_eq!(
            set_cookie_name("_ga=GA1.2; Path=/; Domain=.sivocenter.com").as_deref(),
            Some("_ga")
        );
    }
}

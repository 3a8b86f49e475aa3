//! English.

use super::Texts;

pub(super) const TEXTS: Texts = Texts {
    settings_link: "Cookie settings",
    origin_title: "The site is temporarily unavailable",
    origin_down: "We could not reach our web server. Please try again in a moment.",
    origin_timeout: "Our web server is taking too long to answer. Please try again in a moment.",
    try_again: "Try again",
    banner_label: "Cookie consent",
    banner_title: "Your privacy choices",
    banner_text: "We use cookies that this site needs to work. With your permission we would also use analytics cookies to understand how the site is used and marketing cookies to measure our ads. These are set by Google Analytics 4 and Google Tag Manager: Google Ireland Ltd. receives the data, which may be transferred to the USA under Standard Contractual Clauses. Nothing is set unless you accept, and you can change or withdraw your choice at any time from \u{201c}Cookie settings\u{201d} at the bottom of every page.",
    cookie_policy: "Cookie policy",
    accept_all: "Accept all",
    reject_all: "Reject all",
    customise: "Customise",
    categories_legend: "Cookies by purpose",
    save: "Save choices",
    necessary_title: "Necessary",
    necessary_text: "The sivo_consent cookie remembers your choice for up to 12 months. The site cannot respect your choice without it.",
    always_on: "Always on",
    analytics_title: "Analytics",
    analytics_text: "Google Analytics 4 (cookies _ga and _ga_*, up to 26 months) counts visits and pages anonymously in aggregate. Data goes to Google Ireland Ltd.",
    marketing_title: "Marketing",
    marketing_text: "Google Ads conversion cookies (_gcl_*, 90 days) tell us which ads brought you here. Data goes to Google Ireland Ltd.",
    gpc_note: "Your browser sent a Global Privacy Control signal, so marketing stays off.",
    save_failed_title: "Your choice was not saved",
    save_failed_text: "We could not store the record of your consent, so nothing has been switched on. Please try again in a moment.",
    back_to_page: "Back to the page",
};

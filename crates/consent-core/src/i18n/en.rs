//! English.

use super::Texts;

pub(super) const TEXTS: Texts = Texts {
    settings_link: "Cookie settings",
    origin_title: "The site is temporarily unavailable",
    origin_down: "We could not reach our web server. Please try again in a moment.",
    origin_timeout: "Our web server is taking too long to answer. Please try again in a moment.",
    try_again: "Try again",
};

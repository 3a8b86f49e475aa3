//! The visitor's decision: what they chose, when, under which policy.
//!
//! Also here: the signed cookie that carries it ([`cookie`]), the `POST /_consent` body it
//! is read from ([`request`]) and the use case "a visitor decides" ([`decide`]).

pub mod cookie;
pub mod decide;
pub mod request;

use crate::clock::{EpochMillis, DAY_MS};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A random consent id: 16 bytes from the platform's CSPRNG, shown as 32 hex digits. It
/// names one visitor's chain of decisions and nothing else (no IP, no device data in it).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConsentId([u8; 16]);

impl ConsentId {
    /// An id from 16 random bytes (the caller reads them from `getrandom`).
    #[must_use]
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// Parses the 32-hex-digit form; `None` for anything else.
    #[must_use]
    pub fn parse(hex: &str) -> Option<Self> {
        if hex.len() != 32
            || !hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(out))
    }

    /// The raw bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for ConsentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ConsentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConsentId({self})")
    }
}

impl Serialize for ConsentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ConsentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ConsentId::parse(&s).ok_or_else(|| serde::de::Error::custom("not a consent id"))
    }
}

/// The optional purposes a visitor decides on. Strictly necessary cookies need no consent
/// and are not a choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Choices {
    /// Audience measurement (GA4, GTM's analytics tags).
    pub analytics: bool,
    /// Advertising (Google Ads conversion and remarketing via GTM).
    pub marketing: bool,
}

impl Choices {
    /// Everything refused.
    pub const NONE: Choices = Choices {
        analytics: false,
        marketing: false,
    };
    /// Everything accepted.
    pub const ALL: Choices = Choices {
        analytics: true,
        marketing: true,
    };

    /// True when at least one optional purpose is accepted.
    #[must_use]
    pub fn any(self) -> bool {
        self.analytics || self.marketing
    }
}

/// How a decision was given (docs/compliance.md rule 11: "how").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionMethod {
    /// The banner's "Accept all".
    AcceptAll,
    /// The banner's "Reject all".
    RejectAll,
    /// The banner's customise layer, "Save".
    Save,
    /// The preferences page.
    Preferences,
    /// The preferences page's "Withdraw consent".
    Withdraw,
    /// The JSON API (`POST /_consent` with `application/json`).
    Api,
}

/// A decision as the consent cookie carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The proof records written in the last moments under this id, as record references
    /// (`<at ms, 13 digits>-<8 hex>`), newest first: KV may not list them yet, so erasure
    /// and download take them from here as well as from the listing.
    pub recent_records: Vec<String>,
    /// The visitor's consent id.
    pub id: ConsentId,
    /// What they chose.
    pub choices: Choices,
    /// `POLICY_VERSION` when they chose.
    pub policy_version: String,
    /// When they chose.
    pub given_at: EpochMillis,
    /// When the decision lapses and the banner asks again.
    pub expires_at: EpochMillis,
}

impl Decision {
    /// A decision made `now`, lasting `max_age_days`.
    #[must_use]
    pub fn new(
        id: ConsentId,
        choices: Choices,
        policy_version: &str,
        now: EpochMillis,
        max_age_days: u32,
    ) -> Self {
        Self {
            recent_records: Vec::new(),
            id,
            choices,
            policy_version: policy_version.to_owned(),
            given_at: now,
            expires_at: now.saturating_add(u64::from(max_age_days) * DAY_MS),
        }
    }
}

/// The visitor's consent as the worker sees it on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentState {
    /// No valid decision: no cookie, or one that is forged, expired or of another policy.
    Undecided,
    /// A valid decision.
    Decided(Decision),
}

impl ConsentState {
    /// The choices in force: nothing at all unless a valid decision says otherwise.
    #[must_use]
    pub fn choices(&self) -> Choices {
        match self {
            ConsentState::Undecided => Choices::NONE,
            ConsentState::Decided(d) => d.choices,
        }
    }

    /// `GET /_consent/state`: `{"decided": false}`, or the decision with RFC 3339 times.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ConsentState::Undecided => serde_json::json!({ "decided": false }),
            ConsentState::Decided(d) => serde_json::json!({
                "decided": true,
                "id": d.id,
                "analytics": d.choices.analytics,
                "marketing": d.choices.marketing,
                "policy_version": d.policy_version,
                "given_at": crate::clock::rfc3339(d.given_at),
                "expires_at": crate::clock::rfc3339(d.expires_at),
            }),
        }
    }

    /// The `consent` field of the log line: `undecided`, `rejected`, `analytics`,
    /// `marketing` or `all`.
    #[must_use]
    pub fn log_label(&self) -> &'static str {
        match self {
            ConsentState::Undecided => "undecided",
            ConsentState::Decided(d) => match (d.choices.analytics, d.choices.marketing) {
                (false, false) => "rejected",
                (true, false) => "analytics",
                (false, true) => "marketing",
                (true, true) => "all",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_hex_and_refuse_anything_else() {
        let id = ConsentId::from_random([0xab; 16]);
        assert_eq!(id.to_string(), "ab".repeat(16));
        assert_eq!(ConsentId::parse(&id.to_string()), Some(id));
        for bad in [
            "",
            "ab",
            &"AB".repeat(16),
            &"zz".repeat(16),
            &"ab".repeat(17),
            "ééééééééééééééééé",
        ] {
            assert_eq!(ConsentId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_decision_expires_after_its_max_age() {
        let d = Decision::new(
            ConsentId::from_random([1; 16]),
            Choices::ALL,
            "3",
            1_000,
            365,
        );
        assert_eq!(d.expires_at, 1_000 + 365 * DAY_MS);
    }

    #[test]
    fn undecided_grants_nothing() {
        assert_eq!(ConsentState::Undecided.choices(), Choices::NONE);
        assert_eq!(ConsentState::Undecided.log_label(), "undecided");
        let d = Decision::new(
            ConsentId::from_random([1; 16]),
            Choices {
                analytics: true,
                marketing: false,
            },
            "1",
            0,
            1,
        );
        let state = ConsentState::Decided(d);
        assert_eq!(state.log_label(), "analytics");
        assert_eq!(
            ConsentState::Undecided.to_json().to_string(),
            r#"{"decided":false}"#
        );
        let json = state.to_json();
        assert_eq!(json["given_at"], "1970-01-01T00:00:00Z");
        assert_eq!(
            (json["analytics"].as_bool(), json["marketing"].as_bool()),
            (Some(true), Some(false))
        );
    }
}

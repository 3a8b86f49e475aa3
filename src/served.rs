//! An answer, and what the request's one log line and its one statistics call say about it.

use crate::dashboard::stats::Tally;
use consent_core::log::Level;
use web_sys::Response;

/// What the log line and the statistics say about an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The log line's level.
    pub level: Level,
    /// A safe description of a failure, for the log.
    pub error: Option<String>,
    /// The consent state the answer leaves the visitor in, when it changed it.
    pub consent_after: Option<&'static str>,
    /// What the answer adds to the statistics.
    pub tally: Tally,
}

impl Default for Outcome {
    fn default() -> Self {
        Self {
            level: Level::Info,
            error: None,
            consent_after: None,
            tally: Tally::Nothing,
        }
    }
}

/// An answer and its [`Outcome`].
#[derive(Debug)]
pub struct Served {
    /// The response to send.
    pub response: Response,
    /// What the log and the statistics say about it.
    pub outcome: Outcome,
}

impl Served {
    /// A response that went as intended.
    #[must_use]
    pub fn ok(response: Response) -> Self {
        Self {
            response,
            outcome: Outcome::default(),
        }
    }

    /// The same answer, counted in the statistics as `tally` says.
    #[must_use]
    pub fn counted(mut self, tally: Tally) -> Self {
        self.outcome.tally = tally;
        self
    }

    /// The same answer, noting the consent state it leaves the visitor in.
    #[must_use]
    pub fn leaving(mut self, consent: &'static str) -> Self {
        self.outcome.consent_after = Some(consent);
        self
    }

    /// The same answer, logged as an error with `detail` when there is one: it went out,
    /// but something behind it failed (a refusal whose record is missing, …).
    #[must_use]
    pub fn with_failure(mut self, detail: Option<String>) -> Self {
        if let Some(detail) = detail {
            self.outcome.level = Level::Error;
            self.outcome.error = Some(detail);
        }
        self
    }
}

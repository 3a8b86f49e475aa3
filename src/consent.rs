//! `POST /_consent` and `GET /_consent/state`: the request side of a decision. The rules
//! are the domain's (`consent_core::consent::decide`).

use crate::dashboard::stats::Tally;
use crate::failure::WorkerError;
use crate::isolate::banner;
use crate::platform::{random_bytes, read_body};
use crate::proof::KvRecords;
use crate::respond::{json, see_other, with_cookies};
use crate::served::Served;
use crate::visit::{Header, Visit};
use consent_core::config::Config;
use consent_core::consent::decide::{decide as record_decision, DecideInput, Decided, Visitor};
use consent_core::consent::request::{
    body_kind, check_declared_length, parse_decision, DecisionRequest,
};
use consent_core::consent::ConsentState;
use consent_core::dashboard::stats::DecisionCount;
use consent_core::proof::record::Requester;
use consent_core::visitor::banner::BannerVariant;
use web_sys::Request;
use worker::Env;

/// The binding of the decisions' rate limiter (`wrangler.toml`, `[[ratelimits]]`).
pub const LIMITER_BINDING: &str = "DECISION_LIMITER";

/// True when the decision's network (the truncated IP: never the whole address) has sent more
/// than the limiter allows in its period: each decision writes KV keys kept for years. Over the
/// limit a grant is refused and a refusal takes effect without its record
/// (`consent_core::consent::decide`). Without the binding, or when the limiter itself fails,
/// nothing is over it: abuse protection never takes consent down.
async fn over_rate_limit(env: &Env, visit: &Visit) -> bool {
    let Ok(limiter) = env.rate_limiter(LIMITER_BINDING) else {
        return false;
    };
    matches!(limiter.limit(visit.network()).await, Ok(outcome) if !outcome.success)
}

/// `GET /_consent/state`.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub fn state(visit: &Visit) -> Result<Served, WorkerError> {
    Ok(Served::ok(json(&visit.consent.to_json().to_string(), &[])?))
}

/// `POST /_consent`: records the decision, sets the cookie, and answers `303` back to the
/// page (a form) or `200` with the new state (JSON).
///
/// # Errors
/// Cross-site, oversized or malformed requests; missing keys; a consent whose proof could
/// not be stored.
pub async fn decide(
    request: &Request,
    env: &Env,
    config: &Config,
    visit: &Visit,
) -> Result<Served, WorkerError> {
    visit.ensure_same_site()?;
    check_declared_length(visit.header(Header::ContentLength).as_deref())?;
    let kind = body_kind(visit.header(Header::ContentType).as_deref())?;
    let body = read_body(request).await?;
    let wanted = parse_decision(kind, &body, visit.gpc)?;
    let over_limit = over_rate_limit(env, visit).await;
    let banner = banner(BannerVariant {
        lang: visit.lang,
        gpc: visit.gpc,
    });
    let input = DecideInput {
        wanted: &wanted,
        previous: visit.signed.as_ref(),
        visitor: Visitor {
            requester: Requester {
                lang: visit.lang,
                country: visit.country.as_deref(),
                sec_gpc: visit.sec_gpc.as_deref(),
                client_ip: visit.client_ip.as_deref(),
                user_agent: visit.user_agent.as_deref(),
            },
            request_path: &visit.path,
            host: &visit.host,
            cookie_header: visit.cookie.as_deref(),
        },
        banner_sha256: &banner.sha256,
        now: visit.now,
        random: random_bytes()?,
        over_limit,
    };
    let decided = record_decision(&KvRecords::bind(env), config, &input).await?;
    let counted = DecisionCount::of(
        visit.now,
        &wanted,
        visit.gpc,
        visit.country.as_deref(),
        visit.lang,
        visit.user_agent.as_deref(),
    );
    answer(&wanted, decided, counted)
}

/// `303` back to the page (a form) or `200` with the new state (JSON), with the cookies.
fn answer(
    wanted: &DecisionRequest,
    decided: Decided,
    counted: DecisionCount,
) -> Result<Served, WorkerError> {
    let state = ConsentState::Decided(decided.decision);
    let response = if wanted.answered_with_redirect() {
        see_other(wanted.redirect_target())?
    } else {
        json(&state.to_json().to_string(), &[])?
    };
    Ok(Served::ok(with_cookies(response, &decided.set_cookies)?)
        .leaving(state.log_label())
        .with_failure(decided.record_error)
        .counted(Tally::Decision(counted)))
}

//! The routes under `/_consent` (README, "Routes owned by the worker").

use crate::failure::WorkerError;
use crate::served::Served;
use crate::visit::Visit;
use crate::{consent, respond, visitor};
use consent_core::config::Config;
use consent_core::failure::Failure;
use consent_core::paths;
use web_sys::Request;
use worker::Env;

const READ: &str = "GET, HEAD";

/// Answers a request under `/_consent`.
///
/// # Errors
/// [`Failure::NotFound`], [`Failure::MethodNotAllowed`], or the route's own.
pub async fn handle(
    request: &Request,
    env: &Env,
    config: &Config,
    visit: &Visit,
) -> Result<Served, WorkerError> {
    if !visit.is_own_route {
        // `Page::route` sends a page here only when there is no origin to serve it from.
        return Err(Failure::NoOrigin.into());
    }
    if visit.path == paths::ADMIN || visit.path.starts_with("/_consent/admin/") {
        return crate::dashboard::handle(request, env, config, visit).await;
    }
    let route = paths::route_of(&visit.path);
    let read = matches!(visit.method.as_str(), "GET" | "HEAD");
    let allow = match route {
        paths::DECIDE if visit.method == "POST" => {
            return consent::decide(request, env, config, visit).await
        }
        paths::DECIDE => "POST",
        paths::STATE if read => return consent::state(visit),
        paths::PREFERENCES if read => return visitor::preferences(visit),
        paths::COOKIES if read => return visitor::cookie_policy(config, visit),
        paths::HEALTH if read => {
            let health = crate::health::health(env, config, visit).await;
            return Ok(Served::ok(respond::json(&health.to_string(), &[])?));
        }
        paths::STATE | paths::PREFERENCES | paths::COOKIES | paths::HEALTH => READ,
        paths::RECORDS => match visit.method.as_str() {
            "GET" | "HEAD" => return visitor::download(env, config, visit).await,
            "DELETE" | "POST" => return visitor::erase(request, env, config, visit).await,
            _ => "GET, HEAD, DELETE, POST",
        },
        _ => return Err(Failure::NotFound.into()),
    };
    Err(Failure::MethodNotAllowed { allow }.into())
}

//! The configuration, read from the environment once per isolate and checked by the
//! domain (`consent_core::config`).

use consent_core::config::{parse_config, Config};
use consent_core::log::{event_line, Level};
use std::rc::Rc;
use worker::Env;

/// The isolate's configuration; the first call reads and checks it, logging every problem
/// once, and later calls return the same value (an isolate's bindings never change).
pub fn config(env: &Env, now: u64) -> Rc<Config> {
    crate::isolate::with(|isolate| {
        Rc::clone(isolate.config.get_or_init(|| {
            let config = parse_config(
                |name| env.var(name).ok().map(|v| v.to_string()),
                |name| env.secret(name).ok().map(|v| v.to_string()),
            );
            for problem in &config.problems {
                let level = match problem.severity {
                    consent_core::config::Severity::Warning => Level::Warn,
                    consent_core::config::Severity::Error => Level::Error,
                };
                let fields =
                    serde_json::json!({ "setting": problem.setting, "problem": problem.message });
                worker::console_log!("{}", event_line(now, level, "configuration", fields));
            }
            Rc::new(config)
        }))
    })
}

//! The marketing dashboard at `/_consent/admin`: who may see it ([`access`], Cloudflare
//! Access), the audit log of what was done there ([`audit`]), the counts behind it
//! ([`stats`]), its numbers for a date range ([`report`]) and the page itself ([`page`]).

pub mod access;
pub mod audit;
pub mod page;
pub mod report;
pub mod stats;

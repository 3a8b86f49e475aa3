//! What the visitor sees and asks for: the consent banner ([`banner`]), the pages the worker
//! renders itself ([`pages`]), the persistent "cookie settings" link the worker adds to a
//! page ([`settings_link`]) and the use cases of their rights over their records ([`rights`]).

pub mod banner;
pub mod pages;
pub mod rights;
pub mod settings_link;

//! Proof of consent: the encrypted record of each decision ([`record`]), the key-value store
//! it is kept in ([`store`], the port the worker implements over Workers KV, and
//! [`memory`], the in-memory one the tests use), and what the product does with records
//! over any such store ([`records`]: append, find, read, erase).

pub mod memory;
pub mod record;
pub mod records;
pub mod store;

//! Proof-of-consent records (GDPR art. 7(1), docs/compliance.md rules 11-12).
//!
//! One record per decision, refusals included, never rewritten. Stored in KV encrypted with
//! AES-256-GCM under `RECORD_ENCRYPTION_KEY`, a fresh random nonce per record, and the KV
//! key as associated data, so a record cannot be moved to another key unnoticed.
//!
//! The sealed value names the key it was sealed under ([`KeyId`]): `v2.<key id>.<base64(nonce
//! || ciphertext || tag)>`, with `v2.<key id>.` bound into the associated data too, so neither
//! the id nor the version can be changed unnoticed. A [`Keyring`] holds the current key and,
//! during a rotation, the one before (`RECORD_ENCRYPTION_KEY_PREVIOUS`): a record opens under
//! whichever of them its id names. Records sealed before key ids (bare base64, the KV key
//! alone as associated data) are opened by trying the current key, then the previous one.
//!
//! Keys (both written with the record's sealed expiry as their KV expiration):
//! - `rec:<consent id>:<reference>`, `<reference>` = `<at ms, 13 digits>-<nonce tag>`: the
//!   encrypted record, with no metadata. Listing the prefix `rec:<id>:` finds every record of
//!   one visitor (access, erasure); the consent cookie also names the recent ones.
//! - `day:<YYYY-MM-DD>:<index tag>`: an empty value whose metadata holds only what aggregate
//!   statistics need (no id, no IP, no user agent). The index tag is a keyed hash of the
//!   record's key: the worker finds a record's entry to erase it, but nobody reading KV can
//!   join a day's choices to a consent id. Listing `day:<date>:` gives one day's decisions.

use crate::clock::{day, rfc3339, EpochMillis, DAY_MS};
use crate::consent::{Choices, ConsentId, DecisionMethod};
use crate::i18n::Lang;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Format version of [`ProofRecord`].
pub const RECORD_VERSION: u32 = 1;

/// Longest user agent kept in a record.
pub const MAX_USER_AGENT: usize = 256;

/// Everything a record proves about one decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofRecord {
    /// [`RECORD_VERSION`].
    pub v: u32,
    /// The visitor's consent id.
    pub id: ConsentId,
    /// When the decision was made, RFC 3339.
    pub at: String,
    /// The same, in ms since the epoch.
    pub at_ms: EpochMillis,
    /// What was chosen; necessary cookies are always on and need no consent.
    pub choices: Choices,
    /// How it was given.
    pub method: DecisionMethod,
    /// `POLICY_VERSION` in force.
    pub policy_version: String,
    /// SHA-256 of the exact banner HTML (text, style and script) shown in this language.
    pub banner_sha256: String,
    /// The worker build that showed it.
    pub worker_version: String,
    /// The banner's language.
    pub lang: Lang,
    /// Country from the platform, if known.
    pub country: Option<String>,
    /// The page the decision was made on (path only).
    pub path: String,
    /// The browser's `Sec-GPC` header (`"1"` when Global Privacy Control is on).
    pub sec_gpc: Option<String>,
    /// True when GPC turned a requested marketing consent into a refusal.
    pub gpc_refused_marketing: bool,
    /// The client IP, truncated (IPv4 /24, IPv6 /48).
    pub ip_truncated: Option<String>,
    /// The user agent, cut to [`MAX_USER_AGENT`] characters.
    pub user_agent: Option<String>,
    /// When this record expires and is deleted, sealed at creation (rule 12).
    pub expires_at: String,
    /// The same, in ms since the epoch.
    pub expires_at_ms: EpochMillis,
}

/// Who decided, as the request tells it: what a record keeps of them (truncated, cut).
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    /// The language the banner was shown in.
    pub lang: Lang,
    /// Two-letter country from the platform.
    pub country: Option<&'a str>,
    /// The `Sec-GPC` header.
    pub sec_gpc: Option<&'a str>,
    /// Client IP as given by the platform, untruncated: it is truncated here.
    pub client_ip: Option<&'a str>,
    /// `User-Agent`.
    pub user_agent: Option<&'a str>,
}

/// What [`ProofRecord::new`] needs that is not the decision itself.
#[derive(Debug, Clone)]
pub struct RecordContext<'a> {
    /// Banner hash, see [`ProofRecord::banner_sha256`].
    pub banner_sha256: &'a str,
    /// Worker version.
    pub worker_version: &'a str,
    /// The page the decision was made on.
    pub path: &'a str,
    /// `RECORD_RETENTION_DAYS`.
    pub retention_days: u32,
    /// Who decided.
    pub requester: Requester<'a>,
}

impl ProofRecord {
    /// A record of a decision made `now`.
    #[must_use]
    pub fn new(
        id: ConsentId,
        choices: Choices,
        method: DecisionMethod,
        policy_version: &str,
        gpc_refused_marketing: bool,
        now: EpochMillis,
        ctx: &RecordContext<'_>,
    ) -> Self {
        let expires_at_ms = now.saturating_add(u64::from(ctx.retention_days) * DAY_MS);
        let who = &ctx.requester;
        Self {
            v: RECORD_VERSION,
            id,
            at: rfc3339(now),
            at_ms: now,
            choices,
            method,
            policy_version: policy_version.to_owned(),
            banner_sha256: ctx.banner_sha256.to_owned(),
            worker_version: ctx.worker_version.to_owned(),
            lang: who.lang,
            country: who.country.filter(|c| c.len() == 2).map(str::to_owned),
            path: crate::log::log_path(ctx.path),
            sec_gpc: who.sec_gpc.map(|v| v.chars().take(8).collect()),
            gpc_refused_marketing,
            ip_truncated: who
                .client_ip
                .and_then(crate::ip::truncate_ip)
                .map(|ip| ip.to_string()),
            user_agent: who
                .user_agent
                .map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
            expires_at: rfc3339(expires_at_ms),
            expires_at_ms,
        }
    }

    /// The KV expiration of this record, in seconds since the epoch.
    #[must_use]
    pub fn kv_expiration(&self) -> u64 {
        self.expires_at_ms / 1000
    }

    /// The aggregate-only metadata stored beside the record and its day index entry.
    #[must_use]
    pub fn stats_metadata(&self) -> StatsMetadata {
        StatsMetadata {
            day: day(self.at_ms),
            analytics: self.choices.analytics,
            marketing: self.choices.marketing,
            method: self.method,
            policy_version: self.policy_version.clone(),
            country: self.country.clone(),
        }
    }
}

/// KV metadata: only what consent-rate statistics need, nothing personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsMetadata {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Analytics accepted.
    pub analytics: bool,
    /// Marketing accepted.
    pub marketing: bool,
    /// How.
    pub method: DecisionMethod,
    /// Under which policy version.
    pub policy_version: String,
    /// Country, if known.
    pub country: Option<String>,
}

/// The two KV keys of one record, and the reference the consent cookie keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordKeys {
    /// The encrypted record.
    pub record: String,
    /// The day index entry.
    pub day_index: String,
    /// `<at ms, 13 digits>-<8 hex>`: the record key without its id prefix.
    pub reference: String,
}

/// The keys for a record of `id` made at `at_ms`; `unique` (from the random nonce) keeps two
/// decisions in the same millisecond apart; `index_key` keys the day index tag.
#[must_use]
pub fn record_keys(
    id: ConsentId,
    at_ms: EpochMillis,
    unique: &[u8],
    index_key: &[u8],
) -> RecordKeys {
    let tag = crate::hex(unique.get(..4).unwrap_or(unique));
    let reference = format!("{at_ms:013}-{tag}");
    let record = record_key(id, &reference);
    RecordKeys {
        day_index: index_key_for(&record, at_ms, index_key),
        record,
        reference,
    }
}

/// The record key of `id` for a reference the cookie named.
#[must_use]
pub fn record_key(id: ConsentId, reference: &str) -> String {
    format!("{}{reference}", records_prefix(id))
}

/// A record key as a log line may name it: `rec:*:<reference>`, its consent id left out (no
/// log holds one). The reference is enough for an operator to find the key
/// (`wrangler kv key list --prefix rec:`, then the key ending in it).
#[must_use]
pub fn loggable_record_key(key: &str) -> String {
    match key
        .strip_prefix("rec:")
        .and_then(|rest| rest.split_once(':'))
    {
        Some((_, reference)) => format!("rec:*:{reference}"),
        None => "a record key".to_owned(),
    }
}

/// The prefix under which every record of `id` lives.
#[must_use]
pub fn records_prefix(id: ConsentId) -> String {
    format!("rec:{id}:")
}

/// The day index keys that may belong to a record key, for erasure: the current keyed form,
/// and the form written before it (`day:<date>:<reference>`), deleted too in case the record
/// predates the change.
#[must_use]
pub fn day_index_keys_of(record_key: &str, index_key: &[u8]) -> Vec<String> {
    let (Some(at_ms), Some((_, reference))) = (
        made_at(record_key),
        record_key
            .strip_prefix("rec:")
            .and_then(|r| r.split_once(':')),
    ) else {
        return Vec::new();
    };
    vec![
        index_key_for(record_key, at_ms, index_key),
        format!("day:{}:{reference}", day(at_ms)),
    ]
}

/// `day:<date>:<first 16 hex of HMAC-SHA256(index_key, context + record key)>`.
fn index_key_for(record_key: &str, at_ms: EpochMillis, index_key: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(index_key).map(|mut mac| {
        mac.update(b"sivo-consent day index\n");
        mac.update(record_key.as_bytes());
        mac.finalize().into_bytes()
    });
    // HMAC takes keys of any length; were it to refuse one, the plain hash still names no id.
    let digest =
        mac.unwrap_or_else(|_| <sha2::Sha256 as sha2::Digest>::digest(record_key.as_bytes()));
    format!("day:{}:{}", day(at_ms), crate::hex(&digest[..8]))
}

/// The entry kept after an erasure, so the operator can show the request was honoured: the
/// consent id's SHA-256 (one-way: the id is 128 random bits) and the time. No personal data.
#[must_use]
pub fn erasure_entry(id: ConsentId, now: EpochMillis) -> (String, String) {
    use sha2::{Digest, Sha256};
    let hash = crate::hex(&Sha256::digest(id.to_string().as_bytes()));
    // The hash's first 8 hex digits keep two erasures in the same millisecond apart (the
    // key alone names nobody: 32 bits of a one-way hash of a random id).
    let key = format!("erasure:{}:{now:013}-{}", day(now), &hash[..8]);
    let value = serde_json::json!({ "consent_id_sha256": hash, "at": rfc3339(now), "records_erased": true }).to_string();
    (key, value)
}

/// When the record under `record_key` was made, as its key says (`rec:<id>:<at ms>-<tag>`):
/// known without opening it, so a record that no longer opens still shows its date.
#[must_use]
pub fn made_at(record_key: &str) -> Option<EpochMillis> {
    record_key
        .strip_prefix("rec:")
        .and_then(|r| r.split_once(':'))
        .and_then(|(_, reference)| reference.split_once('-'))
        .and_then(|(at, _)| at.parse().ok())
}

/// Names a record key without revealing it: the first 8 bytes of SHA-256 over a
/// domain-separation label and the key, shown as 16 hex digits. Stored in each sealed record.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyId([u8; 8]);

impl KeyId {
    /// The id of `key`.
    #[must_use]
    pub fn of(key: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(b"sivo-consent record key id\n")
            .chain_update(key)
            .finalize();
        let mut id = [0; 8];
        id.copy_from_slice(&digest[..8]);
        Self(id)
    }

    /// Reads 16 lowercase hex digits.
    #[must_use]
    pub fn parse(hex: &str) -> Option<Self> {
        if hex.len() != 16 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut id = [0; 8];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(id))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::hex(&self.0))
    }
}

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// The record keys a worker holds: the current one (`RECORD_ENCRYPTION_KEY`), which seals
/// every new record, and, during a rotation, the one before it
/// (`RECORD_ENCRYPTION_KEY_PREVIOUS`), which only opens.
#[derive(Debug, Clone, Copy)]
pub struct Keyring<'a> {
    current: &'a [u8],
    previous: Option<&'a [u8]>,
}

impl<'a> Keyring<'a> {
    /// The current key and the previous one, if any.
    #[must_use]
    pub fn new(current: &'a [u8], previous: Option<&'a [u8]>) -> Self {
        Self { current, previous }
    }

    /// The key that seals.
    #[must_use]
    pub fn current(&self) -> &'a [u8] {
        self.current
    }

    /// The current key, then the previous one.
    fn keys(&self) -> impl Iterator<Item = &'a [u8]> {
        std::iter::once(self.current).chain(self.previous)
    }

    /// The held key whose id is `id`.
    fn by_id(&self, id: KeyId) -> Option<&'a [u8]> {
        self.keys().find(|key| KeyId::of(key) == id)
    }

    /// The held keys that may have sealed `stored` (and so keyed its day index tag): the one
    /// its id names, none when that key is not held, every key for a record sealed before
    /// key ids (or one that does not parse).
    #[must_use]
    pub fn sealers_of(&self, stored: &str) -> Vec<&'a [u8]> {
        match envelope(stored) {
            Ok(Sealed::Named { key_id, .. }) => self.by_id(key_id).into_iter().collect(),
            Ok(Sealed::Legacy(_)) | Err(_) => self.keys().collect(),
        }
    }
}

/// Why a record could not be sealed or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The key is not 32 bytes.
    #[error("the record key must be 32 bytes")]
    BadKey,
    /// Sealed under a key this worker no longer holds (neither the current nor the previous).
    #[error("sealed under record key {0}, which is no longer held")]
    UnknownKey(KeyId),
    /// Not base64, too short, or the authentication tag does not match.
    #[error("the record cannot be decrypted: tampered, moved or another key")]
    Undecryptable,
    /// Decrypted, but not a record.
    #[error("the decrypted record does not parse")]
    Unparseable,
}

/// The version tag of the sealed format that names its key.
const NAMED: &str = "v2";

/// A stored value, taken apart.
enum Sealed<'a> {
    /// Sealed before key ids: bare base64, the KV key alone as associated data.
    Legacy(&'a str),
    /// `v2.<key id>.<base64>`.
    Named { key_id: KeyId, body: &'a str },
}

fn envelope(stored: &str) -> Result<Sealed<'_>, RecordError> {
    let stored = stored.trim();
    let Some(rest) = stored.strip_prefix(NAMED).and_then(|r| r.strip_prefix('.')) else {
        // Base64 has no `.`: an old record, or garbage that will not decrypt.
        return Ok(Sealed::Legacy(stored));
    };
    let (id, body) = rest.split_once('.').ok_or(RecordError::Undecryptable)?;
    let key_id = KeyId::parse(id).ok_or(RecordError::Undecryptable)?;
    Ok(Sealed::Named { key_id, body })
}

/// The associated data of a named record: its version and key id, then the KV key.
fn named_aad(key_id: KeyId, kv_key: &str) -> String {
    format!("{NAMED}.{key_id}.{kv_key}")
}

/// Encrypts `record` for storage under `kv_key` with `key`:
/// `v2.<key id>.base64(nonce || ciphertext || tag)`.
///
/// # Errors
/// [`RecordError::BadKey`].
pub fn seal(
    record: &ProofRecord,
    key: &[u8],
    nonce: [u8; 12],
    kv_key: &str,
) -> Result<String, RecordError> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| RecordError::BadKey)?;
    let plaintext = serde_json::to_vec(record).map_err(|_| RecordError::Unparseable)?;
    let key_id = KeyId::of(key);
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: named_aad(key_id, kv_key).as_bytes(),
            },
        )
        .map_err(|_| RecordError::BadKey)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ciphertext);
    Ok(format!("{NAMED}.{key_id}.{}", STANDARD.encode(out)))
}

/// Decrypts a stored record read from `kv_key` with the key its id names (or, for a record
/// sealed before key ids, the first key of `keys` it opens under).
///
/// # Errors
/// See [`RecordError`]: [`RecordError::UnknownKey`] when the key it names is not held.
pub fn open(stored: &str, keys: &Keyring<'_>, kv_key: &str) -> Result<ProofRecord, RecordError> {
    if keys.keys().any(|key| key.len() != 32) {
        return Err(RecordError::BadKey);
    }
    match envelope(stored)? {
        Sealed::Named { key_id, body } => {
            let key = keys.by_id(key_id).ok_or(RecordError::UnknownKey(key_id))?;
            decrypt(body, key, named_aad(key_id, kv_key).as_bytes())
        }
        Sealed::Legacy(body) => keys
            .keys()
            .map(|key| decrypt(body, key, kv_key.as_bytes()))
            .find(|opened| *opened != Err(RecordError::Undecryptable))
            .unwrap_or(Err(RecordError::Undecryptable)),
    }
}

fn decrypt(body: &str, key: &[u8], aad: &[u8]) -> Result<ProofRecord, RecordError> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| RecordError::BadKey)?;
    let bytes = STANDARD
        .decode(body)
        .map_err(|_| RecordError::Undecryptable)?;
    if bytes.len() < 12 + 16 {
        return Err(RecordError::Undecryptable);
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let plaintext = cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| RecordError::Undecryptable)?;
    serde_json::from_slice(&plaintext).map_err(|_| RecordError::Unparseable)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const KEY: [u8; 32] = [9; 32];
    const NOW: u64 = 1_795_810_796_123;

    /// A record with every optional field set (also for other modules' tests).
    pub(crate) fn record() -> ProofRecord {
        ProofRecord::new(
            ConsentId::from_random([3; 16]),
            Choices {
                analytics: true,
                marketing: false,
            },
            DecisionMethod::Save,
            "2026-11",
            true,
            NOW,
            &RecordContext {
                banner_sha256: "ab12",
                worker_version: "0.1.0",
                path: "/precios?utm=x",
                retention_days: 1460,
                requester: Requester {
                    lang: Lang::Es,
                    country: Some("ES"),
                    sec_gpc: Some("1"),
                    client_ip: Some("203.0.113.77"),
                    user_agent: Some(&"Mozilla/5.0 ".repeat(40)),
                },
            },
        )
    }

    #[test]
    fn a_record_holds_what_proof_needs_and_no_more() {
        let r = record();
        assert_eq!(r.at, "2026-11-27T20:19:56.123Z");
        assert_eq!(r.path, "/precios");
        assert_eq!(r.ip_truncated.as_deref(), Some("203.0.113.0"));
        assert_eq!(
            r.user_agent.as_ref().map(|ua| ua.chars().count()),
            Some(MAX_USER_AGENT)
        );
        assert_eq!(r.expires_at_ms, NOW + 1460 * DAY_MS);
        assert_eq!(r.kv_expiration(), (NOW + 1460 * DAY_MS) / 1000);
        assert!(r.gpc_refused_marketing && r.sec_gpc.as_deref() == Some("1"));
    }

    /// Only `KEY`.
    fn just(key: &[u8]) -> Keyring<'_> {
        Keyring::new(key, None)
    }

    #[test]
    fn sealing_round_trips_and_hides_the_content() {
        let r = record();
        let keys = record_keys(r.id, r.at_ms, &[0xde, 0xad, 0xbe, 0xef, 1], &KEY);
        let stored = seal(&r, &KEY, [5; 12], &keys.record).unwrap();
        assert!(!stored.contains("203.0.113") && !stored.contains("Mozilla"));
        assert_eq!(open(&stored, &just(&KEY), &keys.record), Ok(r));
    }

    #[test]
    fn a_record_names_the_key_it_was_sealed_under_and_not_the_key() {
        let r = record();
        let stored = seal(&r, &KEY, [5; 12], "rec:k").unwrap();
        let id = KeyId::of(&KEY).to_string();
        assert_eq!(id.len(), 16);
        assert!(stored.starts_with(&format!("v2.{id}.")), "{stored}");
        assert_ne!(KeyId::of(&[8; 32]), KeyId::of(&KEY), "one id per key");
        let key_hex = crate::hex(&KEY);
        assert!(
            !key_hex.contains(&id) && !id.contains(&key_hex[..16]),
            "the id is no part of the key"
        );
        assert_eq!(KeyId::parse(&id), Some(KeyId::of(&KEY)));
        for bad in [
            "",
            "0123",
            "0123456789ABCDEF",
            "0123456789abcdeg",
            "0123456789abcdef0",
        ] {
            assert_eq!(KeyId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_record_sealed_under_the_previous_key_opens_beside_the_current_one() {
        let (old, new) = ([1; 32], [2; 32]);
        let r = record();
        let under_old = seal(&r, &old, [5; 12], "rec:k").unwrap();
        let under_new = seal(&r, &new, [6; 12], "rec:k").unwrap();
        let rotating = Keyring::new(&new, Some(&old));
        assert_eq!(open(&under_old, &rotating, "rec:k"), Ok(r.clone()));
        assert_eq!(open(&under_new, &rotating, "rec:k"), Ok(r.clone()));
        assert_eq!(
            open(&under_old, &just(&new), "rec:k"),
            Err(RecordError::UnknownKey(KeyId::of(&old))),
            "the old key gone: named, not a failure of the new one"
        );
        assert!(open(&under_old, &just(&new), "rec:k")
            .unwrap_err()
            .to_string()
            .contains(&KeyId::of(&old).to_string()));
        assert_eq!(rotating.sealers_of(&under_old), [&old[..]]);
        assert_eq!(rotating.sealers_of(&under_new), [&new[..]]);
        assert!(just(&new).sealers_of(&under_old).is_empty());
    }

    #[test]
    fn the_key_id_and_the_version_are_bound_a_changed_one_never_opens() {
        let (old, new) = ([1; 32], [2; 32]);
        let rotating = Keyring::new(&new, Some(&old));
        let stored = seal(&record(), &old, [5; 12], "rec:k").unwrap();
        let body = stored.rsplit('.').next().unwrap();
        let swapped = format!("v2.{}.{body}", KeyId::of(&new));
        assert_eq!(
            open(&swapped, &rotating, "rec:k"),
            Err(RecordError::Undecryptable)
        );
        // Presented as a record from before key ids (under the right key, the KV key alone as
        // associated data), it opens only if the id and version were not bound in.
        assert_eq!(
            open(body, &rotating, "rec:k"),
            Err(RecordError::Undecryptable)
        );
        for broken in [
            format!("v2.{body}"),
            format!("v2.{}.{body}", "0".repeat(15)),
            format!("v2.{}.{body}", KeyId::of(&old).to_string().to_uppercase()),
        ] {
            assert_eq!(
                open(&broken, &rotating, "rec:k"),
                Err(RecordError::Undecryptable),
                "{broken}"
            );
        }
    }

    /// A record as the worker sealed it before key ids (bare base64, the KV key alone as
    /// associated data), under `[9; 32]`: written by the code of that time, kept byte for byte.
    const OLD_FORMAT_KEY: &str = "rec:03030303030303030303030303030303:1795810796123-deadbeef";
    const OLD_FORMAT: &str = "BQUFBQUFBQUFBQUFtFXAdDHpMG8rQHfE/19aRTL8gaCG44X8MUQlkVnHkz+bds2PQfJxd3Jd5Eqvewoqgho5CRMTHMhqnRep4ncO7I2CB+VyIqoAHFr36pJ+hhpsY0jpcdEJlsF/3Z2WM/yVcfTNdqqIZSzRQatwKVjTRDvQ3hfGKcr0UZG3miirlckVteK/PlpVHZ/vV6AP8gjOR/IMggQ5nFZ9kH1pEFfbrrOS38ypbZ7HLVUU2kHStzjfsQClnwePXe0g76jPPBnk8BjwYEdXUDiDVT7QGjpGm2boEcYi1yH7peunyE6jpOaAC7MKOeqNTpWaHcuXIeSRmIzM+5rOvpiSaPb5L+FWJtqjZvvxf8fqhB3jg8dj9IrvUS4eNyrDe4PcGgvuTwLxnh4sduGGp71LReOTAa2E6Vo50RbyBLXJ2DsCxnI4ykQzLMMu+oxVD5oIfdSRiB8FzwDflx3fLih0pcL/Id2CTPBjeMdarVLRxYmSHrHr0fpLEA8tnKmXh5XZ+Lhfp8C6v+/NduBUZfbYvi/LRnOQ5c4ziIZRF66/DkDCs90Q0beWiF8nmGkLn6kklcVUfwy2/tMg8DxiRsitaYs1RaWEn/jThfmFdSn7XE4Jg7dAbUFWQKqU6t+7";

    #[test]
    fn a_record_sealed_before_key_ids_opens_under_the_current_or_the_previous_key() {
        let old = [9; 32];
        for keys in [just(&old), Keyring::new(&[2; 32], Some(&old))] {
            let r = open(OLD_FORMAT, &keys, OLD_FORMAT_KEY).unwrap();
            assert_eq!(
                (r.at_ms, r.method, r.path.as_str()),
                (NOW, DecisionMethod::Save, "/precios")
            );
            assert_eq!(
                keys.sealers_of(OLD_FORMAT).len(),
                1 + usize::from(keys.current() != old)
            );
        }
        assert_eq!(
            open(
                OLD_FORMAT,
                &Keyring::new(&[2; 32], Some(&[3; 32])),
                OLD_FORMAT_KEY
            ),
            Err(RecordError::Undecryptable),
            "under neither key: no id to name"
        );
        assert_eq!(
            made_at(OLD_FORMAT_KEY),
            Some(NOW),
            "its date is known all the same"
        );
        assert_eq!(made_at("rec:x"), None);
    }

    #[test]
    fn tampering_moving_or_another_key_is_detected() {
        let r = record();
        let keys = record_keys(r.id, r.at_ms, &[1, 2, 3, 4], &KEY);
        let stored = seal(&r, &KEY, [5; 12], &keys.record).unwrap();
        let mut bytes = STANDARD.decode(stored.rsplit('.').next().unwrap()).unwrap();
        let last = bytes.len() - 20;
        bytes[last] ^= 1;
        assert_eq!(
            open(
                &format!("v2.{}.{}", KeyId::of(&KEY), STANDARD.encode(&bytes)),
                &just(&KEY),
                &keys.record
            ),
            Err(RecordError::Undecryptable)
        );
        assert_eq!(
            open(&stored, &just(&KEY), "rec:other:key"),
            Err(RecordError::Undecryptable)
        );
        assert_eq!(
            open(&stored, &just(&[8; 32]), &keys.record),
            Err(RecordError::UnknownKey(KeyId::of(&KEY)))
        );
        assert_eq!(
            open("not base64!", &just(&KEY), &keys.record),
            Err(RecordError::Undecryptable)
        );
        assert_eq!(
            open("AAAA", &just(&KEY), &keys.record),
            Err(RecordError::Undecryptable)
        );
        assert_eq!(seal(&r, &[1; 16], [0; 12], "k"), Err(RecordError::BadKey));
        assert_eq!(
            open(&stored, &Keyring::new(&KEY, Some(&[1; 16])), &keys.record),
            Err(RecordError::BadKey)
        );
    }

    #[test]
    fn keys_find_a_visitors_records_and_a_days_decisions() {
        let id = ConsentId::from_random([3; 16]);
        let keys = record_keys(id, NOW, &[0xab, 0xcd, 0xef, 0x01, 0x99], &KEY);
        assert_eq!(keys.record, format!("rec:{id}:1795810796123-abcdef01"));
        assert_eq!(keys.reference, "1795810796123-abcdef01");
        assert_eq!(record_key(id, &keys.reference), keys.record);
        assert!(keys.day_index.starts_with("day:2026-11-27:"));
        assert!(keys.record.starts_with(&records_prefix(id)));
        assert!(
            !keys.day_index.contains(&id.to_string())
                && !keys.day_index.contains("1795810796123")
                && !keys.day_index.contains("abcdef01"),
            "the index names no visitor and shares nothing with the record's key: {}",
            keys.day_index
        );
        let other_key = record_keys(id, NOW, &[0xab, 0xcd, 0xef, 0x01], &[8; 32]);
        assert_ne!(
            other_key.day_index, keys.day_index,
            "keyed: unguessable without the key"
        );
        assert_eq!(
            day_index_keys_of(&keys.record, &KEY),
            [
                keys.day_index.clone(),
                "day:2026-11-27:1795810796123-abcdef01".to_owned()
            ]
        );
        assert!(keys.record.len() <= 512, "KV key limit");
        assert!(day_index_keys_of("garbage", &KEY).is_empty());
    }

    #[test]
    fn an_erasure_entry_holds_no_id() {
        let id = ConsentId::from_random([3; 16]);
        let (key, value) = erasure_entry(id, NOW);
        assert!(
            key.starts_with("erasure:2026-11-27:1795810796123-"),
            "{key}"
        );
        let (other_key, _) = erasure_entry(ConsentId::from_random([4; 16]), NOW);
        assert_ne!(
            key, other_key,
            "two erasures in the same millisecond are two entries"
        );
        assert!(!key.contains(&id.to_string()) && !value.contains(&id.to_string()));
        assert!(value.contains("consent_id_sha256") && value.contains("2026-11-27T20:19:56.123Z"));
    }

    #[test]
    fn metadata_is_aggregate_only_and_small() {
        let meta = serde_json::to_string(&record().stats_metadata()).unwrap();
        assert_eq!(
            meta,
            r#"{"day":"2026-11-27","analytics":true,"marketing":false,"method":"save","policy_version":"2026-11","country":"ES"}"#
        );
        assert!(meta.len() < 1024, "KV metadata limit");
    }
}

//! Proof-of-consent records (GDPR art. 7(1), docs/compliance.md rules 11-12).
//!
//! One record per decision, refusals included, never rewritten. Stored in KV encrypted with
//! AES-256-GCM under `RECORD_ENCRYPTION_KEY`, a fresh random nonce per record, and the KV
//! key as associated data, so a record cannot be moved to another key unnoticed.
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
    let Some((_, reference)) = record_key
        .strip_prefix("rec:")
        .and_then(|r| r.split_once(':'))
    else {
        return Vec::new();
    };
    let Some(at_ms) = reference
        .split_once('-')
        .and_then(|(at, _)| at.parse::<EpochMillis>().ok())
    else {
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

/// Why a record could not be sealed or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The key is not 32 bytes.
    #[error("the record key must be 32 bytes")]
    BadKey,
    /// Not base64, too short, or the authentication tag does not match.
    #[error("the record cannot be decrypted: tampered, moved or another key")]
    Undecryptable,
    /// Decrypted, but not a record.
    #[error("the decrypted record does not parse")]
    Unparseable,
}

/// Encrypts `record` for storage under `kv_key`: `base64(nonce || ciphertext || tag)`.
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
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: kv_key.as_bytes(),
            },
        )
        .map_err(|_| RecordError::BadKey)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ciphertext);
    Ok(STANDARD.encode(out))
}

/// Decrypts a stored record read from `kv_key`.
///
/// # Errors
/// See [`RecordError`].
pub fn open(stored: &str, key: &[u8], kv_key: &str) -> Result<ProofRecord, RecordError> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| RecordError::BadKey)?;
    let bytes = STANDARD
        .decode(stored.trim())
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
                aad: kv_key.as_bytes(),
            },
        )
        .map_err(|_| RecordError::Undecryptable)?;
    serde_json::from_slice(&plaintext).map_err(|_| RecordError::Unparseable)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [9; 32];
    const NOW: u64 = 1_795_810_796_123;

    fn record() -> ProofRecord {
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

    #[test]
    fn sealing_round_trips_and_hides_the_content() {
        let r = record();
        let keys = record_keys(r.id, r.at_ms, &[0xde, 0xad, 0xbe, 0xef, 1], &KEY);
        let stored = seal(&r, &KEY, [5; 12], &keys.record).unwrap();
        assert!(!stored.contains("203.0.113") && !stored.contains("Mozilla"));
        assert_eq!(open(&stored, &KEY, &keys.record), Ok(r));
    }

    #[test]
    fn tampering_moving_or_another_key_is_detected() {
        let r = record();
        let keys = record_keys(r.id, r.at_ms, &[1, 2, 3, 4], &KEY);
        let stored = seal(&r, &KEY, [5; 12], &keys.record).unwrap();
        let mut bytes = STANDARD.decode(&stored).unwrap();
        let last = bytes.len() - 20;
        bytes[last] ^= 1;
        assert_eq!(
            open(&STANDARD.encode(&bytes), &KEY, &keys.record),
            Err(RecordError::Undecryptable)
        );
        assert_eq!(
            open(&stored, &KEY, "rec:other:key"),
            Err(RecordError::Undecryptable)
        );
        assert_eq!(
            open(&stored, &[8; 32], &keys.record),
            Err(RecordError::Undecryptable)
        );
        assert_eq!(
            open("not base64!", &KEY, &keys.record),
            Err(RecordError::Undecryptable)
        );
        assert_eq!(
            open("AAAA", &KEY, &keys.record),
            Err(RecordError::Undecryptable)
        );
        assert_eq!(seal(&r, &[1; 16], [0; 12], "k"), Err(RecordError::BadKey));
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

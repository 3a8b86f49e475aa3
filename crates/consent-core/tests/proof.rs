//! Property tests of proof-of-consent records (`proof::record`), through the public API only.
//!
//! Each property runs `support::DEFAULT_CASES` cases in a plain `cargo test`, or as many as
//! `PROPTEST_CASES` says (`scripts/proptest-long.sh` runs a million). A failure is written to
//! `tests/proof.proptest-regressions` and replayed first on the next run.

mod support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use consent_core::clock::day;
use consent_core::consent::{Choices, ConsentId, DecisionMethod};
use consent_core::i18n::Lang;
use consent_core::proof::record::{
    day_index_keys_of, open, seal, KeyId, Keyring, ProofRecord, RecordContext, RecordError,
    Requester,
};
use proptest::option;
use proptest::prelude::*;
use support::{bytes, text, KEY, POLICY};

/// The configuration of every property here, its failures kept in
/// `tests/proof.proptest-regressions`.
fn config() -> ProptestConfig {
    support::config("tests/proof.proptest-regressions")
}

// ---------------------------------------------------------------------------------------
// Proof-of-consent records.

proptest! {
    #![proptest_config(config())]

    /// Stored records: garbage never opens, a wrong-size key is `BadKey`, nothing panics.
    #[test]
    fn a_stored_record_is_never_forged(
        stored in prop_oneof![text(200), bytes(200).prop_map(|b| STANDARD.encode(b))],
        key in prop_oneof![bytes(40), any::<[u8; 32]>().prop_map(|k| k.to_vec())],
        kv_key in text(40),
    ) {
        match open(&stored, &Keyring::new(&key, None), &kv_key) {
            Ok(r) => prop_assert!(false, "opened {:?}", r),
            Err(RecordError::BadKey) => prop_assert_ne!(key.len(), 32),
            Err(_) => prop_assert_eq!(key.len(), 32),
        }
    }

    /// A sealed record opens unchanged, and not once a byte of it changed or it moved.
    #[test]
    fn a_sealed_record_opens_only_as_it_was(
        ua in option::of(text(80)),
        ip in option::of(text(40)),
        path in text(40),
        nonce in any::<[u8; 12]>(),
        flip in any::<(usize, u8)>(),
    ) {
        let record = sample_record(ua.as_deref(), ip.as_deref(), &path);
        let keys = Keyring::new(&[7; 32], None);
        let stored = seal(&record, &[7; 32], nonce, "rec:k").unwrap();
        prop_assert_eq!(open(&stored, &keys, "rec:k"), Ok(record));
        prop_assert_eq!(open(&stored, &keys, "rec:other"), Err(RecordError::Undecryptable));
        let mut raw = stored.into_bytes();
        let i = flip.0 % raw.len();
        raw[i] ^= flip.1.max(1);
        prop_assert!(open(&String::from_utf8_lossy(&raw), &keys, "rec:k").is_err());
    }

    /// Across a rotation: a record opens under whichever held key sealed it, current or
    /// previous; with that key gone it names it and never opens under another; its key id
    /// changed to another held key's, it does not open.
    #[test]
    fn a_record_opens_only_under_the_key_it_names(
        old in any::<[u8; 32]>(),
        new in any::<[u8; 32]>(),
        nonce in any::<[u8; 12]>(),
    ) {
        prop_assume!(old != new);
        let record = sample_record(None, None, "/");
        let stored = seal(&record, &old, nonce, "rec:k").unwrap();
        prop_assert_eq!(open(&stored, &Keyring::new(&new, Some(&old)), "rec:k"), Ok(record.clone()));
        prop_assert_eq!(open(&stored, &Keyring::new(&old, Some(&new)), "rec:k"), Ok(record));
        prop_assert_eq!(
            open(&stored, &Keyring::new(&new, None), "rec:k"),
            Err(RecordError::UnknownKey(KeyId::of(&old)))
        );
        let body = stored.rsplit('.').next().unwrap();
        let swapped = format!("v2.{}.{body}", KeyId::of(&new));
        prop_assert_eq!(
            open(&swapped, &Keyring::new(&new, Some(&old)), "rec:k"),
            Err(RecordError::Undecryptable)
        );
    }

    /// The day index of a record key: none for garbage, the record's day for a record key.
    #[test]
    fn day_index_follows_the_record_key(
        garbage in text(80),
        id in "[0-9a-f]{0,40}",
        at in any::<u64>(),
        tail in "[0-9a-f:-]{0,12}",
    ) {
        let _ = day_index_keys_of(&garbage, KEY);
        let keys = day_index_keys_of(&format!("rec:{id}:{at:013}-{tail}"), KEY);
        prop_assert_eq!(keys.len(), 2);
        let day_prefix = format!("day:{}:", day(at));
        prop_assert!(keys[0].starts_with(&day_prefix));
        prop_assert_eq!(keys[0].len(), "day:".len() + 10 + 1 + 16, "a keyed tag of 16 hex");
        prop_assert_eq!(&keys[1], &format!("day:{}:{at:013}-{tail}", day(at)));
    }
}

fn sample_record(user_agent: Option<&str>, client_ip: Option<&str>, path: &str) -> ProofRecord {
    ProofRecord::new(
        ConsentId::from_random([3; 16]),
        Choices::ALL,
        DecisionMethod::AcceptAll,
        POLICY,
        false,
        1_795_810_796_123,
        &RecordContext {
            banner_sha256: "ab12",
            worker_version: "0.1.0",
            path,
            retention_days: 1460,
            requester: Requester {
                lang: Lang::Es,
                country: Some("ES"),
                sec_gpc: None,
                client_ip,
                user_agent,
            },
        },
    )
}

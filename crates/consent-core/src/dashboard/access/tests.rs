use super::*;
use crate::proof::store::block_on;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::Sha256;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

const FIXTURES: [&str; 2] = [
    include_str!("../../../../../tests/fixtures/access/key-1.private.pem"),
    include_str!("../../../../../tests/fixtures/access/key-2.private.pem"),
];
const JWKS_1: &str = include_str!("../../../../../tests/fixtures/access/jwks-1.json");
const JWKS_2: &str = include_str!("../../../../../tests/fixtures/access/jwks-2.json");
const PUBLIC_JWK_1: &str =
    include_str!("../../../../../tests/fixtures/access/key-1.public.jwk.json");

const TEAM: &str = "https://sivo.cloudflareaccess.com";
const AUD: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const NOW: u64 = 1_795_000_000;
const ANA: &str = "ana@sivocenter.com";

/// The two fixture keys, parsed once.
fn signing_key(kid: &str) -> &'static SigningKey<Sha256> {
    static KEYS: OnceLock<Vec<SigningKey<Sha256>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        FIXTURES
            .iter()
            .map(|pem| SigningKey::new(RsaPrivateKey::from_pkcs8_pem(pem).unwrap()))
            .collect()
    });
    &keys[usize::from(kid == "test-key-2")]
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn signing_input(header: &Value, claims: &Value) -> String {
    let (header, claims) = (header.to_string(), claims.to_string());
    format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()))
}

/// A compact JWS of `header` and `claims`, RS256-signed with the fixture key `key`
/// whatever the header says. An RSA-2048 signature takes about 0.2 s in a debug build,
/// so each distinct token is signed once and kept for every test that builds it again.
fn sign_as(key: &str, header: &Value, claims: &Value) -> String {
    static SIGNED: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let input = signing_input(header, claims);
    let memo_key = format!("{key} {input}");
    let signed = SIGNED.get_or_init(Mutex::default);
    if let Some(token) = signed.lock().unwrap().get(&memo_key) {
        return token.clone();
    }
    let signature = signing_key(key).sign(input.as_bytes()).to_vec();
    let token = format!("{input}.{}", b64(&signature));
    signed.lock().unwrap().insert(memo_key, token.clone());
    token
}

/// An RS256 token signed by `kid`'s key and naming it.
fn token(kid: &str, claims: &Value) -> String {
    sign_as(
        kid,
        &json!({"alg": "RS256", "kid": kid, "typ": "JWT"}),
        claims,
    )
}

fn token_for(email: &str) -> String {
    token("test-key-1", &claims(email))
}

/// Claims as Access writes them for `email`, valid from a minute ago for a day.
fn claims(email: &str) -> Value {
    json!({
        "aud": [AUD],
        "email": email,
        "exp": NOW + 86_400,
        "iat": NOW - 60,
        "nbf": NOW - 60,
        "iss": TEAM,
        "type": "app",
        "identity_nonce": "6ei69kawdKzMIAPF",
        "sub": "7335d417-61da-459d-899c-0a01c76a2f94",
        "country": "ES"
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

/// Ana's claims with one claim changed, checked without a signature: the boundaries
/// of each claim rule, which a signed token per case would make slow to test.
fn claims_with(name: &str, value: Value) -> Result<String, AccessError> {
    let claims: Claims = serde_json::from_value(with(claims(ANA), name, value)).unwrap();
    claims.check(&config(), NOW)
}

fn settings(pairs: &[(&str, &str)]) -> Result<AccessConfig, AccessConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    AccessConfig::from_settings(|name| map.get(name).cloned())
}

fn config() -> AccessConfig {
    settings(&[
        ("ACCESS_TEAM_DOMAIN", "https://sivo.cloudflareaccess.com/"),
        ("ACCESS_AUD", AUD),
        ("DASHBOARD_ADMINS", ANA),
        (
            "DASHBOARD_VIEWERS",
            "@sivocenter.com, partner@agency.example",
        ),
    ])
    .unwrap()
}

fn jwks(json: &str) -> Jwks {
    Jwks::from_json(json).unwrap()
}

/// A key source that serves `kept` until asked to refresh, then `fresh`; it counts.
struct Keys {
    kept: Result<Jwks, AccessError>,
    fresh: Result<Jwks, AccessError>,
    calls: Cell<u32>,
    refreshes: Cell<u32>,
}

impl Keys {
    fn rotating(kept: &str, fresh: &str) -> Self {
        Keys {
            kept: Ok(jwks(kept)),
            fresh: Ok(jwks(fresh)),
            calls: Cell::new(0),
            refreshes: Cell::new(0),
        }
    }

    fn fixed(set: &str) -> Self {
        Keys::rotating(set, set)
    }
}

impl KeySource for Keys {
    async fn keys(&self, refresh: bool) -> Result<Jwks, AccessError> {
        self.calls.set(self.calls.get() + 1);
        if refresh {
            self.refreshes.set(self.refreshes.get() + 1);
            self.fresh.clone()
        } else {
            self.kept.clone()
        }
    }
}

/// RS256 with the `rsa` crate, from the JWK's `n` and `e` as `WebCrypto` imports them;
/// it counts the signatures it checks.
#[derive(Default)]
struct Rsa {
    calls: Cell<u32>,
}

impl SignatureVerifier for Rsa {
    async fn verify_rs256(&self, jwk: &Jwk, signing_input: &[u8], signature: &[u8]) -> bool {
        self.calls.set(self.calls.get() + 1);
        let (Ok(n), Ok(e)) = (
            URL_SAFE_NO_PAD.decode(&jwk.n),
            URL_SAFE_NO_PAD.decode(&jwk.e),
        ) else {
            return false;
        };
        let Ok(key) = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
        else {
            return false;
        };
        let Ok(signature) = Signature::try_from(signature) else {
            return false;
        };
        VerifyingKey::<Sha256>::new(key)
            .verify(signing_input, &signature)
            .is_ok()
    }
}

/// Authenticates `token` with `config` and `keys` at `NOW`; also says how many
/// signatures were checked.
fn check_with(
    token: Option<&str>,
    config: &AccessConfig,
    keys: &Keys,
) -> (Result<Identity, AccessError>, u32) {
    let verifier = Rsa::default();
    let result = block_on(authenticate(token, config, keys, &verifier, NOW));
    (result, verifier.calls.get())
}

/// Authenticates `token` against both fixture keys.
fn check(token: &str) -> Result<Identity, AccessError> {
    check_with(Some(token), &config(), &Keys::fixed(JWKS_2)).0
}

fn identity(email: &str, role: Role) -> Identity {
    Identity {
        email: email.to_owned(),
        role,
    }
}

fn ana() -> Identity {
    identity(ANA, Role::Admin)
}

/// `header.claims.signature` with the signature given, signed by nobody.
fn unsigned(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!("{}.{}", signing_input(header, claims), b64(signature))
}

#[test]
fn a_valid_token_gives_the_identity_and_its_role() {
    let keys = Keys::fixed(JWKS_1);
    let (result, verified) = check_with(Some(&token_for(ANA)), &config(), &keys);
    assert_eq!(result, Ok(ana()));
    assert_eq!(
        (keys.calls.get(), keys.refreshes.get(), verified),
        (1, 0, 1)
    );
    let luis = token_for(" Luis@SivoCenter.com ");
    assert_eq!(
        check(&luis),
        Ok(identity("luis@sivocenter.com", Role::Viewer))
    );
}

#[test]
fn no_token_is_401_and_every_other_refusal_403_or_503() {
    let keys = Keys::fixed(JWKS_1);
    for absent in [None, Some(""), Some("  ")] {
        let (result, _) = check_with(absent, &config(), &keys);
        assert_eq!(result, Err(AccessError::NoToken), "{absent:?}");
    }
    assert_eq!(keys.calls.get(), 0);
    assert_eq!(AccessError::NoToken.status(), 401);
    assert_eq!(AccessError::Malformed("x").status(), 403);
    assert_eq!(AccessError::BadSignature.status(), 403);
    assert_eq!(AccessError::NotAllowed.status(), 403);
    assert_eq!(AccessError::KeysUnavailable("timeout".into()).status(), 503);
}

#[test]
fn an_expired_token_is_refused_after_a_minute_of_leeway() {
    let expired = token("test-key-1", &with(claims(ANA), "exp", json!(NOW - 3600)));
    assert_eq!(check(&expired), Err(AccessError::Expired));
    assert_eq!(
        claims_with("exp", json!(NOW - LEEWAY_SECS)),
        Err(AccessError::Expired)
    );
    assert_eq!(
        claims_with("exp", json!(NOW - LEEWAY_SECS + 1)),
        Ok(ANA.into())
    );
    assert_eq!(claims_with("exp", json!(0)), Err(AccessError::Expired));
    assert_eq!(claims_with("exp", Value::Null), Err(AccessError::NoExpiry));
}

#[test]
fn a_token_not_yet_valid_is_refused_beyond_a_minute_of_leeway() {
    let early = token("test-key-1", &with(claims(ANA), "nbf", json!(NOW + 3600)));
    assert_eq!(check(&early), Err(AccessError::NotYetValid));
    assert_eq!(
        claims_with("nbf", json!(NOW + LEEWAY_SECS + 1)),
        Err(AccessError::NotYetValid)
    );
    assert_eq!(claims_with("nbf", json!(NOW + LEEWAY_SECS)), Ok(ANA.into()));
    assert_eq!(
        claims_with("nbf", json!(u64::MAX)),
        Err(AccessError::NotYetValid)
    );
    assert_eq!(claims_with("nbf", Value::Null), Ok(ANA.into()));
}

#[test]
fn the_audience_must_contain_ours_as_a_string_or_in_an_array() {
    let one = token(
        "test-key-1",
        &with(claims(ANA), "aud", json!("another-app")),
    );
    assert_eq!(check(&one), Err(AccessError::WrongAudience));
    let many = token(
        "test-key-1",
        &with(claims(ANA), "aud", json!(["another-app", "a-third"])),
    );
    assert_eq!(check(&many), Err(AccessError::WrongAudience));
    for wrong in [json!([]), json!(AUD.to_uppercase()), json!(""), Value::Null] {
        assert_eq!(
            claims_with("aud", wrong.clone()),
            Err(AccessError::WrongAudience),
            "{wrong}"
        );
    }
    assert_eq!(claims_with("aud", json!(AUD)), Ok(ANA.into()));
    assert_eq!(
        claims_with("aud", json!(["another-app", AUD])),
        Ok(ANA.into())
    );
}

#[test]
fn the_issuer_must_be_the_team_domain_exactly() {
    let other_team = with(
        claims(ANA),
        "iss",
        json!("https://other.cloudflareaccess.com"),
    );
    assert_eq!(
        check(&token("test-key-1", &other_team)),
        Err(AccessError::WrongIssuer)
    );
    for wrong in [
        json!("https://sivo.cloudflareaccess.com/"),
        json!("http://sivo.cloudflareaccess.com"),
        json!("https://SIVO.cloudflareaccess.com"),
        json!(""),
        Value::Null,
    ] {
        assert_eq!(
            claims_with("iss", wrong.clone()),
            Err(AccessError::WrongIssuer),
            "{wrong}"
        );
    }
    // Configured with or without a trailing slash, through the parser or directly.
    assert_eq!(config().team_domain, TEAM);
    let mut direct = config();
    direct.team_domain = format!("{TEAM}/");
    assert_eq!(
        check_with(Some(&token_for(ANA)), &direct, &Keys::fixed(JWKS_1)).0,
        Ok(ana())
    );
    direct.team_domain = String::new();
    let unconfigured = check_with(Some(&token_for(ANA)), &direct, &Keys::fixed(JWKS_1));
    assert_eq!(unconfigured.0, Err(AccessError::WrongIssuer));
}

#[test]
fn an_unknown_kid_is_looked_up_once_more_after_a_rotation() {
    let keys = Keys::rotating(JWKS_1, JWKS_2);
    let token = token("test-key-2", &claims(ANA));
    let (result, verified) = check_with(Some(&token), &config(), &keys);
    assert_eq!(result, Ok(ana()));
    assert_eq!(
        (keys.calls.get(), keys.refreshes.get(), verified),
        (2, 1, 1)
    );
}

#[test]
fn a_kid_unknown_even_after_a_refresh_is_refused() {
    let keys = Keys::fixed(JWKS_1);
    let token = token("test-key-2", &claims(ANA));
    let (result, verified) = check_with(Some(&token), &config(), &keys);
    assert_eq!(result, Err(AccessError::UnknownKey));
    assert_eq!(
        (keys.calls.get(), keys.refreshes.get(), verified),
        (2, 1, 0)
    );
}

#[test]
fn alg_none_is_refused_without_fetching_a_key() {
    let keys = Keys::fixed(JWKS_2);
    for none in ["none", "None", "NONE"] {
        let header = json!({"alg": none, "kid": "test-key-1", "typ": "JWT"});
        let token = unsigned(&header, &claims(ANA), b"");
        let (result, verified) = check_with(Some(&token), &config(), &keys);
        assert_eq!(result, Err(AccessError::AlgorithmNotAllowed), "{none}");
        assert_eq!(verified, 0);
    }
    assert_eq!(keys.calls.get(), 0);
}

#[test]
fn hs256_keyed_with_the_public_key_is_refused_without_trying_hmac() {
    use hmac::{Hmac, Mac};
    let header = json!({"alg": "HS256", "kid": "test-key-1", "typ": "JWT"});
    let input = signing_input(&header, &claims(ANA));
    let modulus = URL_SAFE_NO_PAD.decode(&jwks(JWKS_1).keys[0].n).unwrap();
    for secret in [PUBLIC_JWK_1.as_bytes(), JWKS_1.as_bytes(), &modulus] {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(input.as_bytes());
        let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
        let keys = Keys::fixed(JWKS_1);
        let (result, verified) = check_with(Some(&token), &config(), &keys);
        assert_eq!(result, Err(AccessError::AlgorithmNotAllowed));
        assert_eq!((keys.calls.get(), verified), (0, 0));
    }
}

#[test]
fn only_exactly_rs256_is_accepted() {
    // A good RS256 signature under another label is still refused.
    let relabelled = sign_as(
        "test-key-1",
        &json!({"alg": "RS512", "kid": "test-key-1"}),
        &claims(ANA),
    );
    assert_eq!(check(&relabelled), Err(AccessError::AlgorithmNotAllowed));
    let keys = Keys::fixed(JWKS_2);
    for alg in [
        json!("PS256"),
        json!("ES256"),
        json!("rs256"),
        json!("RS256 "),
        json!(""),
        Value::Null,
    ] {
        let token = unsigned(
            &json!({"alg": alg, "kid": "test-key-1"}),
            &claims(ANA),
            &[7; 256],
        );
        let (result, verified) = check_with(Some(&token), &config(), &keys);
        assert_eq!(
            (result, verified),
            (Err(AccessError::AlgorithmNotAllowed), 0),
            "{alg}"
        );
    }
    let no_alg = unsigned(&json!({"kid": "test-key-1"}), &claims(ANA), &[7; 256]);
    assert_eq!(check(&no_alg), Err(AccessError::AlgorithmNotAllowed));
    assert_eq!(keys.calls.get(), 0);
}

#[test]
fn the_header_may_say_jwt_must_name_a_key_and_has_no_crit() {
    let header = |members: Value| {
        let mut header = json!({"alg": "RS256", "kid": "test-key-1"});
        header
            .as_object_mut()
            .unwrap()
            .extend(members.as_object().unwrap().clone());
        header
    };
    let signed = |members: Value| check(&sign_as("test-key-1", &header(members), &claims(ANA)));
    let forged = |members: Value| check(&unsigned(&header(members), &claims(ANA), &[7; 256]));
    assert_eq!(signed(json!({})), Ok(ana()));
    assert_eq!(signed(json!({"typ": "jwt"})), Ok(ana()));
    assert_eq!(
        forged(json!({"typ": "at+jwt"})),
        Err(AccessError::TypeNotAllowed)
    );
    assert_eq!(
        forged(json!({"crit": ["exp"], "exp": NOW})),
        Err(AccessError::Malformed("critical header parameters (crit)"))
    );
    assert_eq!(forged(json!({"kid": null})), Err(AccessError::NoKeyId));
    assert_eq!(forged(json!({"kid": ""})), Err(AccessError::NoKeyId));
    // A key carried or pointed to by the header is never used.
    let n = jwks(JWKS_1).keys[0].n.clone();
    let own_key =
        json!({"jku": "https://evil.example/certs", "jwk": {"kty": "RSA", "n": n, "e": "AQAB"}});
    let mut forged_header = header(own_key);
    forged_header["kid"] = json!("made-up");
    let token = sign_as("test-key-1", &forged_header, &claims(ANA));
    assert_eq!(check(&token), Err(AccessError::UnknownKey));
}

#[test]
fn a_tampered_token_no_longer_verifies() {
    let good = token_for("luis@sivocenter.com");
    let parts: Vec<&str> = good.split('.').collect();
    let promoted = b64(claims(ANA).to_string().as_bytes());
    let tampered = format!("{}.{promoted}.{}", parts[0], parts[2]);
    assert_eq!(check(&tampered), Err(AccessError::BadSignature));
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[100] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], b64(&signature));
    assert_eq!(check(&flipped), Err(AccessError::BadSignature));
    let truncated = format!("{}.{}.{}", parts[0], parts[1], b64(&signature[..128]));
    assert_eq!(check(&truncated), Err(AccessError::BadSignature));
    let empty = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(check(&empty), Err(AccessError::BadSignature));
    // Signed by key 2 while naming key 1: the kid chooses the key, nothing else.
    let header = json!({"alg": "RS256", "kid": "test-key-1", "typ": "JWT"});
    let other_key = sign_as("test-key-2", &header, &claims(ANA));
    assert_eq!(check(&other_key), Err(AccessError::BadSignature));
}

#[test]
fn garbage_is_malformed() {
    let good = token_for(ANA);
    let parts: Vec<&str> = good.split('.').collect();
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);
    let three = "not three dot-separated parts";
    let base64 = "a part is not unpadded base64url";
    let json = "the header is not the JSON object expected";
    let cases = [
        ("abc".to_owned(), three),
        ("a.b".to_owned(), three),
        (format!("{good}.{signature}"), three),
        ("..".to_owned(), json),
        ("!!!.###.$$$".to_owned(), base64),
        (format!("{header}=.{payload}.{signature}"), base64),
        (format!("{header}.{payload}.{signature}="), base64),
        (format!("{}.{payload}.{signature}", b64(b"not json")), json),
        (
            format!("{}.{payload}.{signature}", b64(b"[\"RS256\"]")),
            json,
        ),
        (
            format!("{}.{payload}.{signature}", b64(br#"{"alg":1}"#)),
            json,
        ),
        (
            format!("{good}{}", "A".repeat(MAX_TOKEN_BYTES)),
            "longer than 16 KiB",
        ),
    ];
    for (token, why) in cases {
        assert_eq!(
            check(&token),
            Err(AccessError::Malformed(why)),
            "{token:.60}"
        );
    }
}

#[test]
fn signed_claims_of_the_wrong_shape_are_malformed() {
    let header = json!({"alg": "RS256", "kid": "test-key-1", "typ": "JWT"});
    let expected = Err(AccessError::Malformed(
        "the claims are not the JSON object expected",
    ));
    let array = sign_as("test-key-1", &header, &json!([ANA]));
    assert_eq!(check(&array), expected);
    let exp_text = token("test-key-1", &with(claims(ANA), "exp", json!("tomorrow")));
    assert_eq!(check(&exp_text), expected);
    for (name, value) in [
        ("exp", json!(1.5e9)),
        ("exp", json!(-1)),
        ("nbf", json!("now")),
        ("aud", json!([1, 2])),
        ("email", json!([ANA])),
    ] {
        let body = with(claims(ANA), name, value).to_string();
        assert!(
            from_json_object::<Claims>(body.as_bytes()).is_none(),
            "{body}"
        );
    }
}

#[test]
fn a_token_without_an_email_is_refused() {
    let service_token = without(claims(ANA), "email");
    assert_eq!(
        check(&token("test-key-1", &service_token)),
        Err(AccessError::NoEmail)
    );
    assert_eq!(claims_with("email", json!("  ")), Err(AccessError::NoEmail));
    assert_eq!(claims_with("email", Value::Null), Err(AccessError::NoEmail));
}

#[test]
fn a_valid_token_for_someone_in_neither_list_is_refused() {
    assert_eq!(
        check(&token_for("eve@elsewhere.example")),
        Err(AccessError::NotAllowed)
    );
    let config = config();
    for outsider in [
        "eve@mail.sivocenter.com",
        "eve@evilsivocenter.com",
        "sivocenter.com",
    ] {
        assert_eq!(role_of(outsider, &config), None, "{outsider}");
    }
}

#[test]
fn a_key_that_is_not_an_rs256_signing_key_is_refused() {
    let good = jwks(JWKS_1).keys[0].clone();
    let token = token_for(ANA);
    for (field, value) in [("kty", "EC"), ("alg", "RS512"), ("use", "enc"), ("n", "")] {
        let mut key = good.clone();
        match field {
            "kty" => key.kty = value.into(),
            "alg" => key.alg = Some(value.into()),
            "use" => key.key_use = Some(value.into()),
            _ => key.n = value.into(),
        }
        let set = serde_json::to_string(&Jwks { keys: vec![key] }).unwrap();
        let (result, verified) = check_with(Some(&token), &config(), &Keys::fixed(&set));
        assert_eq!(
            (result, verified),
            (Err(AccessError::UnusableKey), 0),
            "{field}"
        );
    }
}

#[test]
fn a_failing_key_source_is_unavailable_not_forbidden() {
    let down = AccessError::KeysUnavailable("certs fetch: 502".into());
    let keys = Keys {
        kept: Err(down.clone()),
        fresh: Err(down.clone()),
        calls: Cell::new(0),
        refreshes: Cell::new(0),
    };
    let (result, verified) = check_with(Some(&token_for(ANA)), &config(), &keys);
    assert_eq!((result, verified), (Err(down.clone()), 0));
    // Kept keys without the kid, and the refresh fails: the failure, not UnknownKey.
    let keys = Keys {
        fresh: Err(down.clone()),
        ..Keys::fixed(JWKS_1)
    };
    let token = token("test-key-2", &claims(ANA));
    assert_eq!(check_with(Some(&token), &config(), &keys).0, Err(down));
}

#[test]
fn cloudflares_certs_are_read_and_unknown_members_ignored() {
    let n = jwks(JWKS_1).keys[0].n.clone();
    let body = json!({
        "keys": [
            {"kid": "ec", "kty": "EC", "crv": "P-256", "x": "f83O", "y": "x_FE"},
            {"kid": "test-key-1", "kty": "RSA", "alg": "RS256", "use": "sig", "e": "AQAB", "n": n}
        ],
        "public_cert": {"kid": "test-key-1", "cert": "-----BEGIN CERTIFICATE-----\n..."},
        "public_certs": [{"kid": "test-key-1", "cert": "-----BEGIN CERTIFICATE-----\n..."}]
    })
    .to_string();
    let set = Jwks::from_json(&body).unwrap();
    assert_eq!(set.find("test-key-1"), Some(&jwks(JWKS_1).keys[0]));
    assert!(!set.find("ec").unwrap().is_rs256_signing_key());
    let keys = Keys::fixed(&body);
    assert_eq!(
        check_with(Some(&token_for(ANA)), &config(), &keys).0,
        Ok(ana())
    );
    for bad in ["", "[]", "<html>", r#"{"keys": {}}"#] {
        assert!(
            matches!(Jwks::from_json(bad), Err(AccessError::KeysUnavailable(_))),
            "{bad}"
        );
    }
    // What the worker hands to WebCrypto: no absent members, `use` under its JWK name.
    let jwk = serde_json::to_value(set.find("test-key-1").unwrap()).unwrap();
    let expected = json!({"kid": "test-key-1", "kty": "RSA", "alg": "RS256", "use": "sig", "n": n, "e": "AQAB"});
    assert_eq!(jwk, expected);
}

fn lists(admins: &str, viewers: &str) -> AccessConfig {
    settings(&[
        ("ACCESS_TEAM_DOMAIN", TEAM),
        ("ACCESS_AUD", AUD),
        ("DASHBOARD_ADMINS", admins),
        ("DASHBOARD_VIEWERS", viewers),
    ])
    .unwrap()
}

#[test]
fn a_domain_entry_matches_that_domain_only_and_an_address_itself() {
    let config = lists("boss@agency.example", "@sivocenter.com");
    assert_eq!(role_of("luis@sivocenter.com", &config), Some(Role::Viewer));
    assert_eq!(role_of("boss@agency.example", &config), Some(Role::Admin));
    for outsider in [
        "luis@mail.sivocenter.com",
        "luis@evilsivocenter.com",
        "luis@sivocenter.com.evil.example",
        "@sivocenter.com",
        "sivocenter.com",
        "other@agency.example",
        "boss@agency.example.evil",
    ] {
        assert_eq!(role_of(outsider, &config), None, "{outsider}");
    }
}

#[test]
fn roles_are_case_insensitive() {
    let config = lists(" Ana@SIVOcenter.COM ", "@SivoCenter.com");
    assert_eq!(config.admins, [Rule::Address(ANA.into())]);
    assert_eq!(config.viewers, [Rule::Domain("sivocenter.com".into())]);
    assert_eq!(role_of("ANA@sivocenter.com", &config), Some(Role::Admin));
    assert_eq!(role_of("Luis@SIVOCENTER.com", &config), Some(Role::Viewer));
}

#[test]
fn an_admin_is_an_admin_even_when_also_a_viewer() {
    let both = lists(ANA, "ana@sivocenter.com, @sivocenter.com");
    assert_eq!(role_of(ANA, &both), Some(Role::Admin));
    let domain_admins = lists("@sivocenter.com", "luis@sivocenter.com");
    assert_eq!(
        role_of("luis@sivocenter.com", &domain_admins),
        Some(Role::Admin)
    );
    assert!(Role::Admin.allows(Role::Viewer) && Role::Admin.allows(Role::Admin));
    assert!(Role::Viewer.allows(Role::Viewer) && !Role::Viewer.allows(Role::Admin));
    assert_eq!(role_of(ANA, &lists("", "")), None);
}

#[test]
fn malformed_list_entries_are_reported_by_position_never_by_value() {
    let raw =
        "ana@sivocenter.com, bob, , @, *@sivocenter.com, a b@x.com, @x..com, @sivocenter.com,";
    let error = parse_rules(raw).unwrap_err();
    assert_eq!(error.positions, [2, 4, 5, 6, 7]);
    let text = "entries 2, 4, 5, 6, 7 are neither an e-mail address nor @domain";
    assert_eq!(error.to_string(), text);
    let viewers = "@sivocenter.com, luis.sivocenter.com";
    let error = settings(&[
        ("ACCESS_TEAM_DOMAIN", TEAM),
        ("ACCESS_AUD", AUD),
        ("DASHBOARD_VIEWERS", viewers),
    ])
    .unwrap_err();
    let source = RuleError { positions: vec![2] };
    assert_eq!(
        error,
        AccessConfigError::BadRules {
            setting: "DASHBOARD_VIEWERS",
            source
        }
    );
    let text = "DASHBOARD_VIEWERS: entry 2 is neither an e-mail address nor @domain";
    assert_eq!(error.to_string(), text);
    assert_eq!(parse_rules(" , "), Ok(vec![]));
    let fine = parse_rules("o'brien+dash@sivocenter.com,@xn--espaa-rta.es, @españa.es");
    assert_eq!(fine.map(|rules| rules.len()), Ok(3));
}

#[test]
fn access_needs_a_team_domain_and_an_audience() {
    let only = |pairs: &[(&str, &str)]| settings(pairs).unwrap_err();
    assert_eq!(only(&[]), AccessConfigError::NotConfigured);
    assert_eq!(
        only(&[("ACCESS_TEAM_DOMAIN", TEAM)]),
        AccessConfigError::NotConfigured
    );
    let blank = [("ACCESS_TEAM_DOMAIN", " "), ("ACCESS_AUD", AUD)];
    assert_eq!(only(&blank), AccessConfigError::NotConfigured);
    for bad in [
        "sivo.cloudflareaccess.com",
        "http://sivo.cloudflareaccess.com",
        "https://",
        "https://sivo.cloudflareaccess.com/cdn-cgi",
    ] {
        let pairs = [("ACCESS_TEAM_DOMAIN", bad), ("ACCESS_AUD", AUD)];
        assert_eq!(only(&pairs), AccessConfigError::BadTeamDomain, "{bad}");
    }
    let config = config();
    assert_eq!(
        config.certs_url(),
        "https://sivo.cloudflareaccess.com/cdn-cgi/access/certs"
    );
    assert_eq!((config.issuer(), config.audience.as_str()), (TEAM, AUD));
}

#[test]
fn error_texts_are_fixed_words() {
    let errors = [
        AccessError::NoToken,
        AccessError::AlgorithmNotAllowed,
        AccessError::TypeNotAllowed,
        AccessError::NoKeyId,
        AccessError::UnknownKey,
        AccessError::UnusableKey,
        AccessError::BadSignature,
        AccessError::WrongIssuer,
        AccessError::WrongAudience,
        AccessError::NoExpiry,
        AccessError::Expired,
        AccessError::NotYetValid,
        AccessError::NoEmail,
        AccessError::NotAllowed,
    ];
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let mut unique = texts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        errors.len(),
        "each refusal says which: {texts:?}"
    );
    let token = token_for(ANA);
    let tampered = token.replacen('.', ".e", 1);
    let error = check(&tampered).unwrap_err();
    assert!(!error.to_string().contains(&token[..20]), "{error}");
}

#[test]
fn the_development_identity_is_an_admin_at_localhost() {
    let developer = development_identity();
    assert_eq!(
        developer,
        Identity {
            email: "developer@localhost".into(),
            role: Role::Admin
        }
    );
    let json = serde_json::to_value(developer).unwrap();
    assert_eq!(
        json,
        json!({"email": "developer@localhost", "role": "admin"})
    );
}

/// The isolate's key cache over an hour and a half of calls: `(ms, refresh, fetch result)`.
#[test]
fn kept_keys_expire_within_an_hour_and_failed_fetches_are_throttled_like_refreshes() {
    let (one, two) = (jwks(JWKS_1), jwks(JWKS_2));
    let mut cache = KeyCache::default();
    let t0 = 1_000_000;
    assert_eq!(cache.plan(t0, false), KeyPlan::Fetch, "nothing kept yet");
    cache.fetched(t0, false, Some(&one));
    assert_eq!(cache.plan(t0 + 1, false), KeyPlan::Use(one.clone()));
    // A rotation right after the first fetch is picked up: the first fetch is no refresh.
    assert_eq!(cache.plan(t0 + 1, true), KeyPlan::Fetch);
    cache.fetched(t0 + 1, true, Some(&two));
    // Made-up kids within the minute after a refresh: the kept keys, no fetch.
    for dt in [2, 30_000, MIN_REFRESH_MS] {
        assert_eq!(cache.plan(t0 + dt, true), KeyPlan::Use(two.clone()), "{dt}");
    }
    assert_eq!(cache.plan(t0 + 1 + MIN_REFRESH_MS, true), KeyPlan::Fetch);
    // Kept keys are used for at most an hour, then fetched again even without a refresh.
    assert_eq!(
        cache.plan(t0 + KEYS_MAX_AGE_MS, false),
        KeyPlan::Use(two.clone())
    );
    let expired = t0 + 1 + KEYS_MAX_AGE_MS;
    assert_eq!(cache.plan(expired, false), KeyPlan::Fetch, "an hour old");
    // That fetch fails: nothing is let in, and for a minute nothing is fetched again.
    cache.fetched(expired, false, None);
    assert_eq!(cache.plan(expired + 1, false), KeyPlan::Wait(60));
    assert_eq!(cache.plan(expired + 59_500, true), KeyPlan::Wait(1));
    assert_eq!(cache.plan(expired + MIN_REFRESH_MS, false), KeyPlan::Fetch);
    cache.fetched(expired + MIN_REFRESH_MS, false, Some(&one));
    assert_eq!(
        cache.plan(expired + MIN_REFRESH_MS + 1, false),
        KeyPlan::Use(one)
    );
}

#[test]
fn a_failed_first_fetch_is_throttled_too() {
    let mut cache = KeyCache::default();
    cache.fetched(0, false, None);
    for now in [1, 1_000, MIN_REFRESH_MS - 1] {
        assert!(matches!(cache.plan(now, false), KeyPlan::Wait(_)), "{now}");
        assert!(matches!(cache.plan(now, true), KeyPlan::Wait(_)), "{now}");
    }
    assert_eq!(cache.plan(MIN_REFRESH_MS, false), KeyPlan::Fetch);
    // A failed refresh with fresh keys kept: the kept keys, no new fetch for a minute.
    let one = jwks(JWKS_1);
    cache.fetched(MIN_REFRESH_MS, false, Some(&one));
    cache.fetched(MIN_REFRESH_MS + 5, true, None);
    assert_eq!(cache.plan(MIN_REFRESH_MS + 10, true), KeyPlan::Use(one));
}

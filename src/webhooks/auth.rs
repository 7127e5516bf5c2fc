//! Authenticating a call: bearer tokens and HMAC signatures (GitHub, Stripe,
//! Shopify and anything configured alike), compared in constant time; and the
//! reverse, [`test_request`], which signs a request the way a hook expects it.

use super::hook::{HmacAlgorithm, HmacAuth, Hook, HookAuth, SigEncoding};
use super::settings::WebhookSettings;
use crate::secret::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use subtle::ConstantTimeEq;
use warp::http::{HeaderMap, HeaderName, HeaderValue, header::AUTHORIZATION};

/// Signatures tried per header (Stripe sends one per active secret).
const MAX_SIGNATURES: usize = 8;

/// Why a call was not authenticated. Never carries a secret or a header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Neither the hook nor the config has a bearer token.
    #[error("no bearer token is configured")]
    NoToken,
    /// No `Authorization: Bearer …` header.
    #[error("missing bearer token")]
    MissingBearer,
    /// The bearer token does not match.
    #[error("wrong bearer token")]
    BadToken,
    /// The hook names no signature header.
    #[error("no signature header is configured")]
    NoHeader,
    /// The hook has no HMAC secret.
    #[error("no HMAC secret is configured")]
    NoSecret,
    /// The signature header is missing (or not text).
    #[error("missing signature header")]
    MissingSignature,
    /// A regex of the hook does not compile.
    #[error("a signature regex of the hook does not compile")]
    BadRegex,
    /// The payload prefix regex did not match the header.
    #[error("the signed payload prefix is missing")]
    NoPayloadPrefix,
    /// No signature matched.
    #[error("wrong signature")]
    BadSignature,
}

/// What a successful check learned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// Group 1 of `hmac_payload_prefix_regex` (Stripe: the timestamp), when configured.
    pub signed_prefix: Option<String>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Checks the call of `hook` with `headers` and raw `body`; `global_token` serves
/// bearer hooks without a token of their own.
pub fn verify(
    hook: &Hook,
    global_token: &Secret,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verified, AuthError> {
    match &hook.auth {
        HookAuth::Bearer { token } => verify_bearer(
            if token.is_empty() {
                global_token
            } else {
                token
            },
            headers,
        ),
        HookAuth::Hmac(h) => verify_hmac(h, headers, body),
    }
}

fn verify_bearer(expected: &Secret, headers: &HeaderMap) -> Result<Verified, AuthError> {
    if expected.is_empty() {
        return Err(AuthError::NoToken);
    }
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(AuthError::MissingBearer)?;
    if bool::from(given.as_bytes().ct_eq(expected.expose().trim().as_bytes())) {
        Ok(Verified::default())
    } else {
        Err(AuthError::BadToken)
    }
}

fn verify_hmac(h: &HmacAuth, headers: &HeaderMap, body: &[u8]) -> Result<Verified, AuthError> {
    if h.header.is_empty() {
        return Err(AuthError::NoHeader);
    }
    if h.secret.is_empty() {
        return Err(AuthError::NoSecret);
    }
    let value = header(headers, &h.header).ok_or(AuthError::MissingSignature)?;
    let signed_prefix = signed_prefix(h, value)?;
    let expected = mac(h, signed_prefix.as_deref(), body);
    let matched = signatures(h, value)?
        .into_iter()
        .filter_map(|sig| decode(h.encoding, sig))
        .fold(false, |any, sig| any | bool::from(sig.ct_eq(&expected)));
    if matched {
        Ok(Verified { signed_prefix })
    } else {
        Err(AuthError::BadSignature)
    }
}

/// Group 1 of the payload prefix regex applied to the header value, if configured.
fn signed_prefix(h: &HmacAuth, value: &str) -> Result<Option<String>, AuthError> {
    let Some(pattern) = &h.payload_prefix_regex else {
        return Ok(None);
    };
    let re = pattern.regex().ok_or(AuthError::BadRegex)?;
    re.captures(value)
        .and_then(|c| c.get(1))
        .map(|m| Some(m.as_str().to_owned()))
        .ok_or(AuthError::NoPayloadPrefix)
}

/// The encoded signatures in the header value.
fn signatures<'a>(h: &HmacAuth, value: &'a str) -> Result<Vec<&'a str>, AuthError> {
    match &h.sig_regex {
        Some(pattern) => {
            let re = pattern.regex().ok_or(AuthError::BadRegex)?;
            Ok(re
                .captures_iter(value)
                .filter_map(|c| c.get(1))
                .map(|m| m.as_str())
                .take(MAX_SIGNATURES)
                .collect())
        }
        None => Ok(vec![
            value
                .strip_prefix(h.sig_prefix.as_str())
                .unwrap_or(value)
                .trim(),
        ]),
    }
}

fn mac_with<M: Mac + KeyInit>(key: &[u8], prefix: Option<&str>, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let Ok(mut m) = <M as KeyInit>::new_from_slice(key) else {
        return Vec::new();
    };
    if let Some(p) = prefix {
        Mac::update(&mut m, p.as_bytes());
        Mac::update(&mut m, b".");
    }
    Mac::update(&mut m, body);
    m.finalize().into_bytes().to_vec()
}

/// The raw MAC of `[<prefix>.]<body>` under the hook's secret and algorithm.
fn mac(h: &HmacAuth, prefix: Option<&str>, body: &[u8]) -> Vec<u8> {
    let key = h.secret.expose().as_bytes();
    match h.algorithm {
        HmacAlgorithm::Sha256 => mac_with::<Hmac<sha2::Sha256>>(key, prefix, body),
        HmacAlgorithm::Sha1 => mac_with::<Hmac<sha1::Sha1>>(key, prefix, body),
        HmacAlgorithm::Sha512 => mac_with::<Hmac<sha2::Sha512>>(key, prefix, body),
    }
}

fn decode(encoding: SigEncoding, s: &str) -> Option<Vec<u8>> {
    match encoding {
        SigEncoding::Base64 => BASE64.decode(s).ok(),
        SigEncoding::Hex => {
            if !s.len().is_multiple_of(2) || !s.is_ascii() {
                return None;
            }
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
                .collect()
        }
    }
}

/// The encoded signature of `[<prefix>.]<body>` as the hook's header carries it
/// (without the header's prefix or surrounding format).
pub fn sign(h: &HmacAuth, prefix: Option<&str>, body: &[u8]) -> String {
    let raw = mac(h, prefix, body);
    match h.encoding {
        SigEncoding::Hex => crate::util::hex(&raw),
        SigEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(raw),
    }
}

/// A request that authenticates against a hook, for `ductor webhooks test`. Its
/// `Debug` shows header names only (the values carry the token or signature).
#[derive(Clone, PartialEq, Eq)]
pub struct TestRequest {
    /// Request path (`/hooks/<id>`).
    pub path: String,
    /// Headers to send (content type, auth, a fresh delivery id).
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for TestRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("TestRequest")
            .field("path", &self.path)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Header layouts tried for hooks that read their signature with a regex:
/// `{t}` is the current unix time, `{p}` the configured prefix, `{s}` the signature.
const LAYOUTS: &[&str] = &[
    "t={t},v1={s}",
    "{p}{s}",
    "{s}",
    "t={t},{p}{s}",
    "v1={s}",
    "ts={t},v1={s}",
    "t={t},v0={s}",
];

/// Builds a correctly authenticated POST of `payload` to `hook` (bearer: the hook's
/// token or the global one; HMAC: signed like its sender would, Stripe-style
/// timestamps set to now). Fails when the hook cannot be authenticated at all.
pub fn test_request(
    hook: &Hook,
    settings: &WebhookSettings,
    payload: &Value,
) -> Result<TestRequest, AuthError> {
    let body = serde_json::to_vec(payload).unwrap_or_else(|_| b"{}".to_vec());
    let mut headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        (
            "X-Request-Id".to_owned(),
            format!("ductor-test-{}", crate::util::random_hex(8)),
        ),
    ];
    match &hook.auth {
        HookAuth::Bearer { token } => {
            let token = if token.is_empty() {
                &settings.token
            } else {
                token
            };
            if token.is_empty() {
                return Err(AuthError::NoToken);
            }
            headers.push((
                "Authorization".to_owned(),
                format!("Bearer {}", token.expose().trim()),
            ));
        }
        HookAuth::Hmac(h) => headers.push((h.header.clone(), signature_header(h, &body)?)),
    }
    Ok(TestRequest {
        path: format!("/hooks/{}", hook.id),
        headers,
        body,
    })
}

/// A signature header value for `body` that [`verify`] accepts.
fn signature_header(h: &HmacAuth, body: &[u8]) -> Result<String, AuthError> {
    if h.header.is_empty() {
        return Err(AuthError::NoHeader);
    }
    if h.secret.is_empty() {
        return Err(AuthError::NoSecret);
    }
    if h.invalid_patterns().next().is_some() {
        return Err(AuthError::BadRegex);
    }
    let name = HeaderName::from_bytes(h.header.as_bytes()).map_err(|_| AuthError::NoHeader)?;
    let now = chrono::Utc::now().timestamp().to_string();
    let fill = |layout: &str, sig: &str| {
        layout
            .replace("{t}", &now)
            .replace("{p}", &h.sig_prefix)
            .replace("{s}", sig)
    };
    let mut last = AuthError::BadSignature;
    for layout in LAYOUTS {
        // The signed prefix is read from the header before the signature is known.
        let draft = fill(layout, "0");
        let prefix = match signed_prefix(h, &draft) {
            Ok(p) => p,
            Err(e) => {
                last = e;
                continue;
            }
        };
        let value = fill(layout, &sign(h, prefix.as_deref(), body));
        let Ok(header_value) = HeaderValue::from_str(&value) else {
            continue;
        };
        let mut check = HeaderMap::new();
        check.insert(name.clone(), header_value);
        match verify_hmac(h, &check, body) {
            Ok(_) => return Ok(value),
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::webhooks::WebhookRecord;
    use serde_json::json;

    const BODY: &[u8] = br#"{"action":"opened","n":1}"#;

    fn hook(auth: HookAuth) -> Hook {
        let record: WebhookRecord = serde_json::from_value(json!({"id": "h"})).unwrap();
        Hook {
            auth,
            ..Hook::from_record(&record)
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn check(h: &HmacAuth, pairs: &[(&str, &str)]) -> Result<Verified, AuthError> {
        verify(
            &hook(HookAuth::Hmac(h.clone())),
            &Secret::default(),
            &headers(pairs),
            BODY,
        )
    }

    #[test]
    fn github_signature() {
        let gh = HmacAuth::github("It's a Secret to Everybody");
        // The example from GitHub's documentation.
        let doc = HmacAuth::github("It's a Secret to Everybody");
        assert_eq!(
            sign(&doc, None, b"Hello, World!"),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        let sig = format!("sha256={}", sign(&gh, None, BODY));
        assert!(check(&gh, &[("X-Hub-Signature-256", &sig)]).is_ok());
        assert!(
            check(
                &gh,
                &[(
                    "x-hub-signature-256",
                    &sig.to_uppercase().replace("SHA256=", "sha256=")
                )]
            )
            .is_ok()
        );
        let wrong = format!("sha256={}", sign(&HmacAuth::github("other"), None, BODY));
        assert_eq!(
            check(&gh, &[("X-Hub-Signature-256", &wrong)]),
            Err(AuthError::BadSignature)
        );
        assert_eq!(check(&gh, &[]), Err(AuthError::MissingSignature));
        assert_eq!(
            check(&gh, &[("X-Hub-Signature-256", "sha256=zz")]),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn stripe_signature_signs_the_timestamp_and_tries_every_v1() {
        let st = HmacAuth::stripe("whsec_test");
        let sig = sign(&st, Some("1700000000"), BODY);
        let good = format!("t=1700000000,v1={sig},v0=abc");
        assert_eq!(
            check(&st, &[("Stripe-Signature", &good)]),
            Ok(Verified {
                signed_prefix: Some("1700000000".into())
            })
        );
        let rotated = format!("t=1700000000,v1={},v1={sig}", "ab".repeat(32));
        assert!(check(&st, &[("Stripe-Signature", &rotated)]).is_ok());
        let other_time = format!("t=1700000001,v1={sig}");
        assert_eq!(
            check(&st, &[("Stripe-Signature", &other_time)]),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            check(&st, &[("Stripe-Signature", &format!("v1={sig}"))]),
            Err(AuthError::NoPayloadPrefix)
        );
    }

    #[test]
    fn shopify_signature_is_base64_without_prefix() {
        let sh = HmacAuth::shopify("shpss");
        let sig = sign(&sh, None, BODY);
        assert!(sig.ends_with('='), "base64 of 32 bytes is padded: {sig}");
        assert!(check(&sh, &[("X-Shopify-Hmac-Sha256", &sig)]).is_ok());
        assert!(check(&sh, &[("X-Shopify-Hmac-Sha256", sig.trim_end_matches('='))]).is_ok());
        let wrong = sign(&HmacAuth::shopify("nope"), None, BODY);
        assert_eq!(
            check(&sh, &[("X-Shopify-Hmac-Sha256", &wrong)]),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn other_algorithms_and_misconfiguration() {
        for alg in [HmacAlgorithm::Sha1, HmacAlgorithm::Sha512] {
            let h = HmacAuth {
                algorithm: alg,
                ..HmacAuth::github("k")
            };
            let sig = format!("sha256={}", sign(&h, None, BODY));
            assert!(check(&h, &[("X-Hub-Signature-256", &sig)]).is_ok());
            let as_256 = HmacAuth::github("k");
            assert!(check(&as_256, &[("X-Hub-Signature-256", &sig)]).is_err());
        }
        let no_secret = HmacAuth::github("");
        assert_eq!(
            check(&no_secret, &[("X-Hub-Signature-256", "sha256=00")]),
            Err(AuthError::NoSecret)
        );
        let no_header = HmacAuth {
            header: String::new(),
            ..HmacAuth::github("k")
        };
        assert_eq!(check(&no_header, &[]), Err(AuthError::NoHeader));
        for bad in [
            HmacAuth {
                sig_regex: Some(super::super::hook::Pattern::new("v1=(")),
                ..HmacAuth::stripe("k")
            },
            HmacAuth {
                payload_prefix_regex: Some(super::super::hook::Pattern::new("t=([")),
                ..HmacAuth::stripe("k")
            },
        ] {
            let sig = sign(&HmacAuth::stripe("k"), Some("1"), BODY);
            assert_eq!(
                check(&bad, &[("Stripe-Signature", &format!("t=1,v1={sig}"))]),
                Err(AuthError::BadRegex)
            );
        }
    }

    #[test]
    fn bearer_uses_the_hooks_token_then_the_global_one() {
        let own = hook(HookAuth::Bearer {
            token: Secret::new("hook-token"),
        });
        let global = Secret::new("global-token");
        let auth = |h: &Hook, v: &str| verify(h, &global, &headers(&[("authorization", v)]), BODY);
        assert!(auth(&own, "Bearer hook-token").is_ok());
        assert!(auth(&own, "bearer  hook-token ").is_ok());
        assert_eq!(auth(&own, "Bearer global-token"), Err(AuthError::BadToken));
        assert_eq!(
            auth(&own, "Basic hook-token"),
            Err(AuthError::MissingBearer)
        );
        let shared = hook(HookAuth::Bearer {
            token: Secret::default(),
        });
        assert!(auth(&shared, "Bearer global-token").is_ok());
        assert_eq!(
            verify(
                &shared,
                &Secret::default(),
                &headers(&[("authorization", "Bearer ")]),
                BODY
            ),
            Err(AuthError::NoToken)
        );
    }

    #[test]
    fn test_requests_authenticate_for_every_mode() {
        let settings = WebhookSettings {
            token: Secret::new("global-token"),
            ..WebhookSettings::default()
        };
        let payload = json!({"hello": "world"});
        let custom = HmacAuth {
            sig_regex: Some(super::super::hook::Pattern::new(r"sig=([0-9a-f]+)")),
            sig_prefix: "sig=".into(),
            ..HmacAuth::github("k")
        };
        for auth in [
            HookAuth::Bearer {
                token: Secret::default(),
            },
            HookAuth::Bearer {
                token: Secret::new("own"),
            },
            HookAuth::Hmac(HmacAuth::github("g")),
            HookAuth::Hmac(HmacAuth::stripe("s")),
            HookAuth::Hmac(HmacAuth::shopify("p")),
            HookAuth::Hmac(custom),
        ] {
            let h = hook(auth);
            let req = test_request(&h, &settings, &payload).unwrap();
            assert_eq!(req.path, "/hooks/h");
            let map = headers(
                &req.headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            );
            let verified = verify(&h, &settings.token, &map, &req.body);
            assert!(verified.is_ok(), "{:?}: {verified:?}", h.auth);
        }
        let none = hook(HookAuth::Bearer {
            token: Secret::default(),
        });
        assert_eq!(
            test_request(&none, &WebhookSettings::default(), &payload),
            Err(AuthError::NoToken)
        );
    }
}

//! HMAC presets over HTTP, replay protection, and `test_request` against the server.

use crate::harness::{GITHUB_SECRET, Rig, SHOPIFY_SECRET, STRIPE_SECRET, request};
use base64::Engine as _;
use ductor::webhooks::{self, WebhookSettings};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

/// HMAC-SHA256 of `data` under `key`, computed here independently of the server.
fn hmac256(key: &str, data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    Mac::update(&mut mac, data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    ductor::util::hex(bytes)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

const BODY: &[u8] = br#"{"action":"opened","type":"invoice.paid","id":42}"#;

fn github(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex(&hmac256(secret, body)))
}

fn stripe(secret: &str, t: i64, body: &[u8]) -> String {
    let signed = [format!("{t}.").as_bytes(), body].concat();
    format!("t={t},v1={}", hex(&hmac256(secret, &signed)))
}

#[tokio::test]
async fn github_stripe_and_shopify_signatures() {
    let mut rig = Rig::start().await;
    let gh = github(GITHUB_SECRET, BODY);
    let r = rig
        .post("github", &[("X-Hub-Signature-256", &gh)], BODY)
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(rig.next_call().await.prompt.lines().nth(1), Some("opened"));
    let wrong = github("not-the-secret", BODY);
    let r = rig
        .post("github", &[("X-Hub-Signature-256", &wrong)], BODY)
        .await;
    assert_eq!(r.error(), (401, "unauthorized"));
    let r = rig.post("github", &[], BODY).await;
    assert_eq!(r.error(), (401, "unauthorized"), "missing header");
    let tampered = br#"{"action":"closed","type":"invoice.paid","id":42}"#;
    let r = rig
        .post("github", &[("X-Hub-Signature-256", &gh)], tampered)
        .await;
    assert_eq!(r.error(), (401, "unauthorized"), "body changed");

    let st = stripe(STRIPE_SECRET, now(), BODY);
    let r = rig.post("stripe", &[("Stripe-Signature", &st)], BODY).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(
        rig.next_call().await.prompt.lines().nth(1),
        Some("invoice.paid")
    );
    let r = rig
        .post(
            "stripe",
            &[("Stripe-Signature", &stripe("whsec_other", now(), BODY))],
            BODY,
        )
        .await;
    assert_eq!(r.error(), (401, "unauthorized"));

    let sh = base64::engine::general_purpose::STANDARD.encode(hmac256(SHOPIFY_SECRET, BODY));
    let r = rig
        .post("shopify", &[("X-Shopify-Hmac-Sha256", &sh)], BODY)
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(rig.next_call().await.prompt.lines().nth(1), Some("42"));
    let hex_instead = hex(&hmac256(SHOPIFY_SECRET, BODY));
    let r = rig
        .post("shopify", &[("X-Shopify-Hmac-Sha256", &hex_instead)], BODY)
        .await;
    assert_eq!(r.error(), (401, "unauthorized"));

    // A hook whose regex does not compile refuses everything.
    let sig = format!("v1={}", hex(&hmac256("s", BODY)));
    let r = rig.post("bad-regex", &[("X-Sig", &sig)], BODY).await;
    assert_eq!(r.error(), (401, "unauthorized"));
    rig.stop().await;
}

#[tokio::test]
async fn a_stale_stripe_timestamp_is_refused() {
    let rig = Rig::start().await;
    for t in [now() - 301, now() + 400, 1] {
        let st = stripe(STRIPE_SECRET, t, BODY);
        let r = rig.post("stripe", &[("Stripe-Signature", &st)], BODY).await;
        assert_eq!(r.error(), (401, "stale_timestamp"), "t={t}");
    }
    let st = stripe(STRIPE_SECRET, now() - 200, BODY);
    let r = rig.post("stripe", &[("Stripe-Signature", &st)], BODY).await;
    assert_eq!(r.status, 202, "inside the 300 s window");
    rig.stop().await;
}

#[tokio::test]
async fn a_replayed_delivery_is_refused_and_strangers_cannot_poison_ids() {
    let rig = Rig::start().await;
    let gh = github(GITHUB_SECRET, BODY);
    let post = |id: &'static str, sig: String| {
        let rig = &rig;
        async move {
            rig.post(
                "github",
                &[("X-Hub-Signature-256", &sig), ("X-GitHub-Delivery", id)],
                BODY,
            )
            .await
        }
    };
    assert_eq!(post("d-1", gh.clone()).await.status, 202);
    assert_eq!(
        post("d-1", gh.clone()).await.error(),
        (409, "duplicate_delivery")
    );
    // Someone without the secret sends a future delivery id first …
    assert_eq!(
        post("d-2", github("guess", BODY)).await.error(),
        (401, "unauthorized")
    );
    // … the genuine delivery still passes.
    assert_eq!(post("d-2", gh.clone()).await.status, 202);
    // Ids are per hook, and other delivery headers count too.
    let token = format!("Bearer {}", crate::harness::HOOK_TOKEN);
    for id in ["a", "b"] {
        let r = rig
            .post(
                id,
                &[("Authorization", &token), ("idempotency-key", "d-1")],
                b"{}",
            )
            .await;
        assert_eq!(r.status, 202, "{id}");
    }
    let r = rig
        .post(
            "a",
            &[("Authorization", &token), ("Idempotency-Key", "d-1")],
            b"{}",
        )
        .await;
    assert_eq!(r.error(), (409, "duplicate_delivery"));
    rig.stop().await;
}

#[tokio::test]
async fn test_requests_are_accepted_for_every_auth_mode() {
    let mut rig = Rig::start().await;
    let settings = WebhookSettings {
        token: ductor::secret::Secret::new(crate::harness::GLOBAL_TOKEN),
        ..WebhookSettings::default()
    };
    for id in ["bearer", "shared", "github", "stripe", "shopify"] {
        let hook = rig.store.get(id).unwrap();
        let req = webhooks::test_request(&hook, &settings, &json!({"action": "test"})).unwrap();
        let headers: Vec<(&str, &str)> = req
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = request(rig.addr, "POST", &req.path, &headers, &req.body).await;
        assert_eq!(r.status, 202, "{id}: {:?}", r.body);
        assert_eq!(rig.next_call().await.hook.id, id);
        // A second test is not a duplicate delivery.
        let again = webhooks::test_request(&hook, &settings, &json!({})).unwrap();
        assert_ne!(again.headers, req.headers);
    }
    let bad = rig.store.get("bad-regex").unwrap();
    assert!(webhooks::test_request(&bad, &settings, &json!({})).is_err());
    rig.stop().await;
}

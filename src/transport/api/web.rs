//! The browser chat page: `GET /` and its assets under `GET /assets/<name>`, served
//! while `api.web_ui` is on (read at every request). The files live in `web/`
//! and are embedded in the binary, so the page works without any network beyond
//! this server. Every answer carries strict security headers: a
//! Content-Security-Policy that allows only this origin (no inline script or style,
//! Trusted Types required, no framing), `nosniff`, no referrer; the page itself is
//! never cached, the assets are revalidated by `ETag`. Owns no state and no file.

use super::ApiContext;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::LazyLock;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderName, HeaderValue,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use warp::reply::Response;
use warp::{Filter, Reply};

/// The page (`GET /`).
const INDEX: &str = include_str!("web/index.html");

/// An embedded file served under `/assets/`.
struct Asset {
    /// Its name in the URL.
    name: &'static str,
    /// Its `Content-Type`.
    mime: &'static str,
    /// Its bytes.
    body: &'static [u8],
}

/// Everything the page loads.
const ASSETS: &[Asset] = &[
    Asset {
        name: "app.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("web/app.js"),
    },
    Asset {
        name: "markdown.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("web/markdown.js"),
    },
    Asset {
        name: "style.css",
        mime: "text/css; charset=utf-8",
        body: include_bytes!("web/style.css"),
    },
    Asset {
        name: "nacl-fast.min.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("web/vendor/nacl-fast.min.js"),
    },
    Asset {
        name: "tweetnacl-LICENSE.txt",
        mime: "text/plain; charset=utf-8",
        body: include_bytes!("web/vendor/tweetnacl-LICENSE.txt"),
    },
    Asset {
        name: "icon.svg",
        mime: "image/svg+xml",
        body: include_bytes!("web/icon.svg"),
    },
];

/// The assets' `ETag`s (a hash of the bytes), in the order of [`ASSETS`].
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = Sha256::digest(a.body);
            let mut tag = String::from("\"");
            for b in &digest[..12] {
                let _ = write!(tag, "{b:02x}");
            }
            tag.push('"');
            tag
        })
        .collect()
});

/// The page's Content-Security-Policy, before `connect-src`: this origin only, no
/// inline code, DOM sinks closed by Trusted Types (the page builds nodes, never
/// HTML), images also from the `blob:` URLs of downloaded files.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; \
     require-trusted-types-for 'script'; trusted-types 'none'";

/// The routes of the page. A request while `web_ui` is off is not taken (404).
pub fn routes(ctx: ApiContext) -> BoxedFilter<(Response,)> {
    let enabled = warp::any()
        .and_then(move || {
            let on = ctx.settings().web_ui;
            async move {
                if on {
                    Ok(())
                } else {
                    Err(warp::reject::not_found())
                }
            }
        })
        .untuple_one();
    let index = warp::path::end()
        .and(warp::get())
        .and(warp::header::optional::<String>("host"))
        .map(|host: Option<String>| index(host.as_deref()));
    let asset = warp::path("assets")
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::get())
        .and(warp::header::optional::<String>("if-none-match"))
        .and_then(|name: String, tag: Option<String>| async move {
            asset(&name, tag.as_deref()).ok_or_else(warp::reject::not_found)
        });
    enabled.and(index.or(asset).unify()).boxed()
}

/// The page, never cached.
fn index(host: Option<&str>) -> Response {
    let mut res = INDEX.into_response();
    secure(&mut res, host);
    set(&mut res, CONTENT_TYPE, "text/html; charset=utf-8");
    set(&mut res, CACHE_CONTROL, "no-store");
    res
}

/// An asset by name, or `None`; 304 when the client's `If-None-Match` is current.
fn asset(name: &str, if_none_match: Option<&str>) -> Option<Response> {
    let at = ASSETS.iter().position(|a| a.name == name)?;
    let (file, tag) = (&ASSETS[at], &ETAGS[at]);
    let fresh = if_none_match.is_some_and(|h| h.split(',').any(|t| t.trim() == tag));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut res = file.body.into_response();
        set(&mut res, CONTENT_TYPE, file.mime);
        res
    };
    secure(&mut res, None);
    set(&mut res, CACHE_CONTROL, "no-cache");
    if let Ok(v) = HeaderValue::from_str(tag) {
        res.headers_mut().insert(ETAG, v);
    }
    Some(res)
}

/// The security headers every answer of the page carries.
fn secure(res: &mut Response, host: Option<&str>) {
    set(res, CONTENT_SECURITY_POLICY, &csp(host));
    set(res, X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(res, X_FRAME_OPTIONS, "DENY");
    set(res, REFERRER_POLICY, "no-referrer");
    set(
        res,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        res,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
}

/// The CSP with `connect-src`: this origin, plus its WebSocket URLs spelled out
/// for browsers whose `'self'` does not cover `ws:` (only a well-formed `Host`).
fn csp(host: Option<&str>) -> String {
    let ws = host
        .filter(|h| valid_host(h))
        .map(|h| format!(" ws://{h} wss://{h}"))
        .unwrap_or_default();
    format!("{CSP}; connect-src 'self'{ws}")
}

/// Whether `host` is a plain `name[:port]` or `[v6][:port]` (nothing that could
/// end the CSP directive or add a source).
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

fn set(res: &mut Response, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Ops;
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    fn context(web_ui: bool) -> (crate::core::testing::Rig, ApiContext) {
        let config = crate::config::AgentConfig {
            api: serde_json::json!({"enabled": true, "web_ui": web_ui}),
            ..Default::default()
        };
        let r = crate::core::testing::rig(config, |_| {});
        let ctx = ApiContext::new(Arc::new(Ops::new(r.core.clone())), CancellationToken::new());
        (r, ctx)
    }

    fn header<'a>(res: &'a warp::http::Response<bytes::Bytes>, name: &str) -> &'a str {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn the_page_and_its_assets_come_with_strict_headers() {
        let (_r, ctx) = context(true);
        let filter = routes(ctx);
        let res = warp::test::request()
            .path("/")
            .header("host", "127.0.0.1:8741")
            .reply(&filter)
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&res, "cache-control"), "no-store");
        assert_eq!(header(&res, "x-content-type-options"), "nosniff");
        let csp = header(&res, "content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(
            csp.ends_with("connect-src 'self' ws://127.0.0.1:8741 wss://127.0.0.1:8741"),
            "{csp}"
        );
        let html = std::str::from_utf8(res.body()).unwrap();
        assert!(html.contains("assets/app.js"));
        assert!(!html.contains("<script>"), "no inline script");
        assert!(!html.contains("style="), "no inline style");
        for name in [
            "app.js",
            "markdown.js",
            "style.css",
            "nacl-fast.min.js",
            "icon.svg",
        ] {
            assert!(
                html.contains(&format!("assets/{name}")),
                "{name} is not used by the page"
            );
            let res = warp::test::request()
                .path(&format!("/assets/{name}"))
                .reply(&filter)
                .await;
            assert_eq!(res.status(), 200, "{name}");
            assert_eq!(header(&res, "x-content-type-options"), "nosniff");
            assert!(!res.body().is_empty());
        }
        let js = warp::test::request()
            .path("/assets/app.js")
            .reply(&filter)
            .await;
        assert_eq!(
            header(&js, "content-type"),
            "text/javascript; charset=utf-8"
        );
        let tag = header(&js, "etag").to_owned();
        let again = warp::test::request()
            .path("/assets/app.js")
            .header("if-none-match", &tag)
            .reply(&filter)
            .await;
        assert_eq!(again.status(), 304);
        assert!(again.body().is_empty());
    }

    #[tokio::test]
    async fn a_hostile_host_stays_out_of_the_policy_and_unknown_assets_are_not_served() {
        let (_r, ctx) = context(true);
        let filter = routes(ctx);
        let res = warp::test::request()
            .path("/")
            .header("host", "evil.example; script-src *")
            .reply(&filter)
            .await;
        let csp = header(&res, "content-security-policy");
        assert!(csp.ends_with("connect-src 'self'"), "{csp}");
        for path in [
            "/assets/../web.rs",
            "/assets/nope.js",
            "/assets/",
            "/index.html",
        ] {
            let res = warp::test::request().path(path).reply(&filter).await;
            assert_eq!(res.status(), 404, "{path}");
        }
    }

    #[tokio::test]
    async fn without_web_ui_nothing_is_served() {
        let (_r, ctx) = context(false);
        let filter = routes(ctx);
        for path in ["/", "/assets/app.js"] {
            let res = warp::test::request().path(path).reply(&filter).await;
            assert_eq!(res.status(), 404, "{path}");
        }
    }
}

//! The cockpit's embedded files (page, script modules, styles, icon) as HTTP responses: each
//! compressed with gzip once (at its first request) and named by a strong `ETag` (a hash of
//! its bytes), so a browser revalidates with `If-None-Match` and gets `304 Not Modified`
//! without a body. `Cache-Control: no-cache` still makes every load revalidate, which keeps an
//! upgraded binary's pages in step with its API.

use std::io::Write as _;
use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    content_type: &'static str,
    body: &'static str,
    prepared: OnceLock<Prepared>,
}

/// Computed once per process: the gzip body and the two representations' tags.
struct Prepared {
    gzip: Option<Vec<u8>>,
    etag: String,
    etag_gzip: String,
}

impl Asset {
    /// A file served with `content_type`.
    pub const fn new(content_type: &'static str, body: &'static str) -> Self {
        Asset {
            content_type,
            body,
            prepared: OnceLock::new(),
        }
    }

    fn prepared(&self) -> &Prepared {
        self.prepared.get_or_init(|| {
            let hash = Sha256::digest(self.body.as_bytes());
            let hex: String = hash.iter().take(12).map(|b| format!("{b:02x}")).collect();
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            // Writing to a Vec cannot fail; if it ever did, the file is sent uncompressed.
            let gzip = enc
                .write_all(self.body.as_bytes())
                .and_then(|_| enc.finish())
                .ok();
            Prepared {
                gzip,
                // A strong tag per representation (RFC 9110 8.8.3): the gzip bytes differ.
                etag: format!("\"{hex}\""),
                etag_gzip: format!("\"{hex}-gz\""),
            }
        })
    }

    /// The response to a GET with these request headers.
    pub fn respond(&self, headers: &HeaderMap) -> Response {
        let p = self.prepared();
        let gzip = p.gzip.as_ref().filter(|_| accepts_gzip(headers));
        let etag = if gzip.is_some() {
            &p.etag_gzip
        } else {
            &p.etag
        };
        let mut r = if if_none_match(headers, &[&p.etag, &p.etag_gzip]) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            match gzip {
                Some(bytes) => {
                    let mut r = (StatusCode::OK, bytes.clone()).into_response();
                    r.headers_mut()
                        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                    r
                }
                None => (StatusCode::OK, self.body).into_response(),
            }
        };
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        if let Ok(v) = HeaderValue::from_str(etag) {
            h.insert(header::ETAG, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        h.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        r
    }
}

/// `Accept-Encoding` lists gzip with a non-zero weight.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .take(32)
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !zero
        })
}

/// `If-None-Match` names one of `tags` (or `*`). Weak comparison, as RFC 9110 13.1.2 asks.
fn if_none_match(headers: &HeaderMap, tags: &[&str]) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .take(32)
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || tags.contains(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn gzip_is_chosen_by_accept_encoding_weights() {
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "gzip, deflate, br"
        )])));
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "br;q=1, GZIP;q=0.5"
        )])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "identity")])));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn a_matching_tag_answers_304_without_a_body() {
        let a = Asset::new("text/css", "body { color: red }");
        let first = a.respond(&headers(&[("accept-encoding", "gzip")]));
        let tag = first
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(tag.starts_with('"') && tag.ends_with("-gz\""), "{tag}");
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", {tag}")).expect("header"),
        );
        assert_eq!(a.respond(&h).status(), StatusCode::NOT_MODIFIED);
        let other = headers(&[("if-none-match", "\"0000\"")]);
        assert_eq!(a.respond(&other).status(), StatusCode::OK);
    }
}

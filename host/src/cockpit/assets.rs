//! The cockpit's embedded files (page, script modules, styles, icon) as HTTP responses: each
//! compressed with brotli and gzip once (at its first request) and named by a strong `ETag`
//! per representation (a hash of its bytes), so a browser revalidates with `If-None-Match`
//! and gets `304 Not Modified` without a body. The encoding follows `Accept-Encoding`'s
//! weights (br before gzip when both weigh the same). `Cache-Control: no-cache` still makes
//! every load revalidate, which keeps an upgraded binary's pages in step with its API.

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

/// A content coding baton can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Brotli,
    Gzip,
    Identity,
}

/// Computed once per process: the compressed bodies and each representation's tag.
struct Prepared {
    brotli: Option<Vec<u8>>,
    gzip: Option<Vec<u8>>,
    etag: String,
    etag_gzip: String,
    etag_brotli: String,
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
            let mut brotli = Vec::new();
            let params = brotli::enc::BrotliEncoderParams {
                quality: 11,
                lgwin: 22,
                ..Default::default()
            };
            let brotli = brotli::BrotliCompress(&mut self.body.as_bytes(), &mut brotli, &params)
                .ok()
                .map(|_| brotli);
            Prepared {
                brotli,
                gzip,
                // A strong tag per representation (RFC 9110 8.8.3): the encoded bytes differ.
                etag: format!("\"{hex}\""),
                etag_gzip: format!("\"{hex}-gz\""),
                etag_brotli: format!("\"{hex}-br\""),
            }
        })
    }

    /// The response to a GET with these request headers.
    pub fn respond(&self, headers: &HeaderMap) -> Response {
        let p = self.prepared();
        let (coding, body, etag) = match choose(headers) {
            Coding::Brotli if p.brotli.is_some() => {
                (Coding::Brotli, p.brotli.as_ref(), &p.etag_brotli)
            }
            Coding::Brotli | Coding::Gzip if p.gzip.is_some() && weight(headers, "gzip") > 0.0 => {
                (Coding::Gzip, p.gzip.as_ref(), &p.etag_gzip)
            }
            _ => (Coding::Identity, None, &p.etag),
        };
        let mut r = if if_none_match(headers, &[&p.etag, &p.etag_gzip, &p.etag_brotli]) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            match body {
                Some(bytes) => {
                    let mut r = (StatusCode::OK, bytes.clone()).into_response();
                    let name = if coding == Coding::Brotli {
                        "br"
                    } else {
                        "gzip"
                    };
                    r.headers_mut()
                        .insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
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

/// The weight `Accept-Encoding` gives `coding` (its own entry, else `*`; 0 when absent).
fn weight(headers: &HeaderMap, coding: &str) -> f32 {
    let mut own = None;
    let mut star = None;
    let items = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .take(32);
    for item in items {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
            .unwrap_or(0.0);
        if name.eq_ignore_ascii_case(coding) {
            own = Some(q);
        } else if name == "*" {
            star = Some(q);
        }
    }
    own.or(star).unwrap_or(0.0)
}

/// The coding to send: the heavier of br and gzip (br on a tie), identity when neither.
fn choose(headers: &HeaderMap) -> Coding {
    let br = weight(headers, "br");
    let gzip = weight(headers, "gzip");
    if br > 0.0 && br >= gzip {
        Coding::Brotli
    } else if gzip > 0.0 {
        Coding::Gzip
    } else {
        Coding::Identity
    }
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
    fn the_coding_follows_accept_encoding_weights() {
        let ae = |v: &'static str| headers(&[("accept-encoding", v)]);
        assert_eq!(choose(&ae("gzip, deflate, br")), Coding::Brotli);
        assert_eq!(choose(&ae("br;q=0.5, GZIP;q=1")), Coding::Gzip);
        assert_eq!(choose(&ae("gzip")), Coding::Gzip);
        assert_eq!(choose(&ae("br;q=0, gzip;q=0.1")), Coding::Gzip);
        assert_eq!(choose(&ae("gzip;q=0")), Coding::Identity);
        assert_eq!(choose(&ae("identity")), Coding::Identity);
        assert_eq!(choose(&ae("*")), Coding::Brotli);
        assert_eq!(choose(&ae("*, br;q=0")), Coding::Gzip);
        assert_eq!(choose(&HeaderMap::new()), Coding::Identity);
    }

    #[test]
    fn brotli_and_gzip_bodies_decode_to_the_file() {
        use std::io::Read as _;
        let text = "body { color: red } ".repeat(50);
        let a = Asset::new("text/css", Box::leak(text.clone().into_boxed_str()));
        let br = a.respond(&headers(&[("accept-encoding", "gzip, br")]));
        assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
        let p = a.prepared();
        let mut out = String::new();
        brotli::Decompressor::new(p.brotli.as_deref().unwrap_or_default(), 4096)
            .read_to_string(&mut out)
            .expect("brotli decodes");
        assert_eq!(out, text);
        let mut out = String::new();
        flate2::read::GzDecoder::new(p.gzip.as_deref().unwrap_or_default())
            .read_to_string(&mut out)
            .expect("gzip decodes");
        assert_eq!(out, text);
        assert!(p.brotli.as_ref().map_or(0, Vec::len) < text.len() / 5);
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

//! `http-fetch`: GETs the URL in the String variable `url` through `wasi:http/outgoing-handler`
//! and returns `status` (Integer) and `body` (String). A refused or failed request is a
//! failure whose message names the `wasi:http` error code, so the incident says why (for
//! example `HttpRequestDenied` when the host is not in the module's allowed hosts).
//!
//! The HTTP bindings come from the `wasip2` crate; the task world from `../../wit`. The
//! component therefore imports `wasi:http/outgoing-handler`, which baton links only for
//! modules bound with `allowedHosts`.

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

use baton::task::log::{Level, log};
use baton::task::types::{Failure, Value};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, Method, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;

/// Largest response body read, in bytes.
const MAX_BODY: usize = 1 << 20;

struct HttpFetch;

fn failure(message: String) -> TaskError {
    TaskError::Failure(Failure {
        message,
        details: None,
    })
}

/// `http[s]://authority/path?query` -> (scheme, authority, path with query).
fn split_url(url: &str) -> Option<(Scheme, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    (!authority.is_empty()).then_some((scheme, authority, path))
}

fn get(url: &str) -> Result<(u16, Vec<u8>), String> {
    let (scheme, authority, path) =
        split_url(url).ok_or_else(|| format!("`{url}` is not an http(s) URL"))?;
    let request = OutgoingRequest::new(Fields::new());
    request
        .set_method(&Method::Get)
        .and_then(|()| request.set_scheme(Some(&scheme)))
        .and_then(|()| request.set_authority(Some(authority)))
        .and_then(|()| request.set_path_with_query(Some(path)))
        .map_err(|()| format!("`{url}` cannot be requested"))?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or("the response never arrived")?
        .map_err(|()| "the response was already taken")?
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let body = response.consume().map_err(|()| "no response body")?;
    let stream = body.stream().map_err(|()| "no response body stream")?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 << 10) {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > MAX_BODY {
                    return Err(format!("response body larger than {MAX_BODY} bytes"));
                }
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(format!("reading the body failed: {}", e.to_debug_string()));
            }
        }
    }
    Ok((status, bytes))
}

impl Guest for HttpFetch {
    fn execute(task: Task) -> Result<Output, TaskError> {
        let url = task
            .variables
            .iter()
            .find_map(|(name, value)| match (name.as_str(), value) {
                ("url", Value::String(url)) => Some(url.clone()),
                _ => None,
            })
            .ok_or_else(|| failure("String variable `url` is missing".into()))?;
        log(Level::Info, &format!("GET {url}"));
        let (status, body) = get(&url).map_err(|e| failure(format!("GET {url} failed: {e}")))?;
        log(
            Level::Info,
            &format!("GET {url}: {status}, {} bytes", body.len()),
        );
        Ok(Output {
            variables: vec![
                ("status".into(), Value::Integer(i32::from(status))),
                (
                    "body".into(),
                    Value::String(String::from_utf8_lossy(&body).into_owned()),
                ),
            ],
        })
    }
}

export!(HttpFetch);

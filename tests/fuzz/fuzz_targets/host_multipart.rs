//! `POST /deployment/create` bodies: the multipart form reader (`read_form`), including the
//! `task-modules` JSON part. The fuzzed bytes are the body; the boundary is fixed (`XyZ`), so
//! the fuzzer works on part headers, names and contents rather than on finding the boundary.
#![no_main]

use axum::body::Body;
use axum::extract::{FromRequest, Multipart};
use axum::http::Request;
use futures_util::FutureExt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(req) = Request::builder()
        .method("POST")
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(Body::from(data.to_vec()))
    else {
        return;
    };
    // The body is in memory, so every future here completes on first poll: no runtime needed.
    let Some(Ok(mp)) = Multipart::from_request(req, &()).now_or_never() else {
        return;
    };
    let _ = baton::api::deployment::read_form(mp, 1 << 20).now_or_never();
});

//! Outbound HTTP for task components: `wasi:http/outgoing-handler`, granted per module by an
//! allow-list of hosts. The sandbox has no network otherwise (no sockets, no name lookup), so
//! this is the one door out, and every request passes [`OutboundHttp::send_request`].
//!
//! An [`AllowedHost`] is `host` (the scheme's default port: 80 for http, 443 for https),
//! `host:port`, or `host:*` (any port); `*.example.com` matches every subdomain of
//! `example.com` (not `example.com` itself). Host names compare case-insensitively; IP
//! addresses are written as they appear in the URL (`127.0.0.1`, `[::1]`).
//!
//! Must not: let a request leave for a host outside the grant, or let a request outlive the
//! execution's deadline (connect, first-byte and between-bytes timeouts are capped to the time
//! left; the store's drop aborts whatever is still in flight).

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::LogLevel;
use super::wasi::LogSink;

/// One entry of a module's outbound-HTTP allow-list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AllowedHost {
    /// Lowercase host name or IP literal, without the `*.` of a wildcard.
    host: String,
    /// `*.host`: any subdomain of `host`.
    subdomains: bool,
    /// Which ports.
    port: AllowedPort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AllowedPort {
    /// The scheme's default port (80 for http, 443 for https).
    SchemeDefault,
    /// Exactly this port.
    Exactly(u16),
    /// Any port.
    Any,
}

impl AllowedHost {
    /// Parses `host`, `host:port`, `host:*`, `*.domain[:port]` or `[ipv6][:port]`. The error
    /// says what is wrong with the entry.
    pub fn parse(entry: &str) -> Result<AllowedHost, String> {
        let entry = entry.trim();
        let bad = |why: &str| Err(format!("allowed host '{entry}' is invalid: {why}"));
        if entry.is_empty() {
            return bad("it is empty");
        }
        if entry.contains("://") || entry.contains('/') {
            return bad("give a host name and optional port, without scheme or path");
        }
        let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
            let Some((ip, after)) = rest.split_once(']') else {
                return bad("an IPv6 address needs a closing ']'");
            };
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(port) => Some(port),
                    None => return bad("expected ':port' after ']'"),
                },
            };
            (format!("[{}]", ip.to_ascii_lowercase()), port)
        } else {
            match entry.rsplit_once(':') {
                Some((host, port)) => (host.to_ascii_lowercase(), Some(port)),
                None => (entry.to_ascii_lowercase(), None),
            }
        };
        let port = match port {
            None => AllowedPort::SchemeDefault,
            Some("*") => AllowedPort::Any,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port > 0 => AllowedPort::Exactly(port),
                _ => return bad("the port must be a number from 1 to 65535, or '*'"),
            },
        };
        let (host, subdomains) = match host.strip_prefix("*.") {
            Some(domain) => (domain.to_owned(), true),
            None => (host, false),
        };
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
        let is_ipv6 = host.starts_with('[');
        if host.is_empty()
            || host.contains('*')
            || (!is_ipv6 && !host.chars().all(valid_char))
            || (is_ipv6
                && !host[1..host.len() - 1]
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.'))
        {
            return bad("expected a host name such as api.example.com, *.example.com or 127.0.0.1");
        }
        Ok(AllowedHost {
            host,
            subdomains,
            port,
        })
    }

    /// Whether a request to `host:port` over `https` or not is allowed by this entry.
    fn allows(&self, host: &str, port: u16, https: bool) -> bool {
        let host = host.to_ascii_lowercase();
        let host_ok = if self.subdomains {
            host.strip_suffix(self.host.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
        } else {
            host == self.host
        };
        let port_ok = match self.port {
            AllowedPort::SchemeDefault => port == if https { 443 } else { 80 },
            AllowedPort::Exactly(p) => port == p,
            AllowedPort::Any => true,
        };
        host_ok && port_ok
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.subdomains {
            f.write_str("*.")?;
        }
        f.write_str(&self.host)?;
        match self.port {
            AllowedPort::SchemeDefault => Ok(()),
            AllowedPort::Exactly(port) => write!(f, ":{port}"),
            AllowedPort::Any => f.write_str(":*"),
        }
    }
}

/// The `wasi:http` hooks of one execution: the grant, the deadline and the task's log.
pub(crate) struct OutboundHttp {
    allowed: Vec<AllowedHost>,
    deadline_at: Instant,
    sink: LogSink,
}

impl OutboundHttp {
    pub(crate) fn new(allowed: Vec<AllowedHost>, deadline_at: Instant, sink: LogSink) -> Self {
        OutboundHttp {
            allowed,
            deadline_at,
            sink,
        }
    }
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _request_errors: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        let uri = request.uri();
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let host = uri.host().unwrap_or_default().to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let target = format!(
            "{} {}://{host}:{port}{}",
            request.method(),
            if https { "https" } else { "http" },
            uri.path()
        );
        if !self.allowed.iter().any(|a| a.allows(&host, port, https)) {
            let granted = if self.allowed.is_empty() {
                "none".to_owned()
            } else {
                self.allowed
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            self.sink.log(
                LogLevel::Warn,
                format!("outbound HTTP denied: {target} (allowed hosts: {granted})"),
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        self.sink
            .log(LogLevel::Debug, format!("outbound HTTP: {target}"));
        let left = self.deadline_at.saturating_duration_since(Instant::now());
        let options = capped(options.unwrap_or_default(), left);
        Box::new(async move {
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), HttpError>> + Send>,
            ))
        })
    }
}

/// Every timeout at most `left`, so a slow server cannot keep an execution past its deadline
/// (the library's defaults are 600 s).
fn capped(options: RequestOptions, left: Duration) -> RequestOptions {
    let cap = |t: Option<Duration>| Some(t.map_or(left, |t| t.min(left)));
    RequestOptions {
        connect_timeout: cap(options.connect_timeout),
        first_byte_timeout: cap(options.first_byte_timeout),
        between_bytes_timeout: cap(options.between_bytes_timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entry: &str) -> AllowedHost {
        AllowedHost::parse(entry).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn entries_parse_and_match() {
        let plain = allowed("API.example.com");
        assert!(plain.allows("api.example.com", 443, true));
        assert!(plain.allows("api.EXAMPLE.com", 80, false));
        assert!(!plain.allows("api.example.com", 8443, true));
        assert!(!plain.allows("api.example.com", 443, false));
        assert!(!plain.allows("evil.api.example.com", 443, true));

        let port = allowed("127.0.0.1:8080");
        assert!(port.allows("127.0.0.1", 8080, false));
        assert!(!port.allows("127.0.0.1", 80, false));

        let any = allowed("localhost:*");
        assert!(any.allows("localhost", 1, false));

        let wild = allowed("*.example.com");
        assert!(wild.allows("a.example.com", 443, true));
        assert!(wild.allows("a.b.example.com", 443, true));
        assert!(!wild.allows("example.com", 443, true));
        assert!(!wild.allows("badexample.com", 443, true));

        let v6 = allowed("[::1]:9000");
        assert!(v6.allows("[::1]", 9000, false));
        assert_eq!(v6.to_string(), "[::1]:9000");
        assert_eq!(wild.to_string(), "*.example.com");
        assert_eq!(any.to_string(), "localhost:*");
    }

    #[test]
    fn bad_entries_say_why() {
        for (entry, why) in [
            ("", "empty"),
            ("https://api.example.com", "without scheme"),
            ("api.example.com/path", "without scheme"),
            ("api.example.com:0", "port"),
            ("api.example.com:http", "port"),
            ("a*b.example.com", "host name"),
            ("*", "host name"),
            ("[::1", "closing"),
        ] {
            let err = AllowedHost::parse(entry).expect_err(entry);
            assert!(err.contains(why), "{entry}: {err}");
        }
    }

    #[test]
    fn timeouts_are_capped_to_the_deadline() {
        let left = Duration::from_millis(500);
        let options = capped(
            RequestOptions {
                connect_timeout: Some(Duration::from_secs(10)),
                first_byte_timeout: Some(Duration::from_millis(100)),
                between_bytes_timeout: None,
            },
            left,
        );
        assert_eq!(options.connect_timeout, Some(left));
        assert_eq!(options.first_byte_timeout, Some(Duration::from_millis(100)));
        assert_eq!(options.between_bytes_timeout, Some(left));
    }
}

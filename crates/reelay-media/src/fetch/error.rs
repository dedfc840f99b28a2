//! [`FetchError`]: every way fetching a user's URL can fail, each with a one-sentence
//! message fit to show the user, and [`FetchError::is_client_fault`] to tell a bad URL
//! (the user's problem, shown to them) from reelay's own failure (logged, opaque 500).

use std::net::IpAddr;
use std::time::Duration;

use crate::ip::AddressClass;
use crate::limits::human_bytes;

/// Why a fetch or a URL check failed.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The text does not parse as an absolute URL.
    #[error("not a valid URL: {reason}")]
    InvalidUrl {
        /// What the URL parser objected to.
        reason: String,
    },
    /// A scheme other than http or https.
    #[error("only https URLs can be fetched (got {scheme}:)")]
    UnsupportedScheme {
        /// The scheme found.
        scheme: String,
    },
    /// `http://` while the policy requires https.
    #[error("https is required (got {url})")]
    HttpsRequired {
        /// The offending URL, shortened for display.
        url: String,
    },
    /// `https://user:pass@host/`: credentials in URLs are refused.
    #[error("URLs with a user name or password are not accepted")]
    UserinfoNotAllowed,
    /// A URL with no host part.
    #[error("the URL has no host")]
    MissingHost,
    /// The host is, or resolves to, an address reelay must not connect to.
    #[error("{}", blocked_message(host, *ip, *class))]
    BlockedAddress {
        /// The host as written in the URL.
        host: String,
        /// The refused address.
        ip: IpAddr,
        /// The range it belongs to.
        class: AddressClass,
    },
    /// DNS resolution failed or returned nothing.
    #[error("could not resolve host {host}: {reason}")]
    Dns {
        /// The host looked up.
        host: String,
        /// What the resolver said.
        reason: String,
    },
    /// The TCP (or TLS) connection was not set up within the connect timeout.
    #[error("could not connect to {host} within {}", seconds(*after))]
    ConnectTimeout {
        /// The host connected to.
        host: String,
        /// The connect timeout in force.
        after: Duration,
    },
    /// The connection was refused, reset, or TLS failed.
    #[error("could not connect to {host}: {reason}")]
    Connect {
        /// The host connected to.
        host: String,
        /// The innermost error's message.
        reason: String,
    },
    /// The request failed after connecting (protocol error, reset).
    #[error("request to {host} failed: {reason}")]
    Request {
        /// The host requested.
        host: String,
        /// The innermost error's message.
        reason: String,
    },
    /// The redirect chain was longer than the policy allows.
    #[error("more than {max} redirects")]
    TooManyRedirects {
        /// The policy's maximum.
        max: usize,
    },
    /// A 3xx response without a usable `Location`.
    #[error("redirect (HTTP {status}) from {host} has no usable Location header")]
    BadRedirect {
        /// The redirect status.
        status: u16,
        /// The host that sent it.
        host: String,
    },
    /// A non-success, non-redirect status.
    #[error("HTTP {status} from {host}")]
    HttpStatus {
        /// The status received.
        status: u16,
        /// The host that sent it.
        host: String,
    },
    /// The body is larger than the cap (by Content-Length or by counting).
    #[error("larger than {}", human_bytes(*limit))]
    TooLarge {
        /// The cap in bytes.
        limit: u64,
    },
    /// The whole call took longer than its total timeout.
    #[error("timed out after {}", seconds(*after))]
    Timeout {
        /// The total timeout in force.
        after: Duration,
    },
    /// The connection broke while the body was streaming.
    #[error("the connection to {host} broke while reading the body: {reason}")]
    BodyRead {
        /// The host read from.
        host: String,
        /// The innermost error's message.
        reason: String,
    },
    /// A caller-supplied header name or value is not valid HTTP (a bug in reelay).
    #[error("invalid request header {name}")]
    InvalidHeader {
        /// The header's name.
        name: String,
    },
    /// Writing the body where the caller wanted it (a temporary file) failed.
    #[error("storing the download failed: {reason}")]
    Write {
        /// The I/O error.
        reason: String,
    },
    /// The HTTP client could not be built (a bug or a broken TLS setup).
    #[error("could not build the HTTP client: {reason}")]
    ClientBuild {
        /// reqwest's message.
        reason: String,
    },
}

impl FetchError {
    /// True when the user's URL is at fault (bad URL, refused address, unreachable or
    /// misbehaving host): show the message to the user. False for reelay's own failures.
    pub fn is_client_fault(&self) -> bool {
        !matches!(
            self,
            FetchError::InvalidHeader { .. }
                | FetchError::ClientBuild { .. }
                | FetchError::Write { .. }
        )
    }
}

impl FetchError {
    /// True when the URL is refused by the rules themselves (its form, its scheme, or the
    /// address it names or resolves to), so that trying it again later cannot succeed.
    pub fn is_refused_by_policy(&self) -> bool {
        matches!(
            self,
            FetchError::InvalidUrl { .. }
                | FetchError::UnsupportedScheme { .. }
                | FetchError::HttpsRequired { .. }
                | FetchError::UserinfoNotAllowed
                | FetchError::MissingHost
                | FetchError::BlockedAddress { .. }
        )
    }
}

fn blocked_message(host: &str, ip: IpAddr, class: AddressClass) -> String {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if literal.parse::<IpAddr>().ok() == Some(ip) {
        format!("the URL points to {ip}, {class}")
    } else {
        format!("host {host} resolves to {ip}, {class}")
    }
}

/// "60 s", or "1.5 s" for fractional durations.
fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// Shortens a URL for an error message so a huge query string does not flood logs.
pub(crate) fn shorten_url(url: &str) -> String {
    const MAX_CHARS: usize = 100;
    if url.chars().count() <= MAX_CHARS {
        url.to_owned()
    } else {
        let head: String = url.chars().take(MAX_CHARS).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_single_sentences_naming_the_problem() {
        let cases = [
            (
                FetchError::HttpsRequired {
                    url: "http://example.com/a.png".into(),
                },
                "https is required (got http://example.com/a.png)",
            ),
            (
                FetchError::BlockedAddress {
                    host: "evil.example".into(),
                    ip: "10.0.0.7".parse().expect("ip"),
                    class: AddressClass::Private,
                },
                "host evil.example resolves to 10.0.0.7, a private address",
            ),
            (
                FetchError::BlockedAddress {
                    host: "[::1]".into(),
                    ip: "::1".parse().expect("ip"),
                    class: AddressClass::Loopback,
                },
                "the URL points to ::1, a loopback address",
            ),
            (
                FetchError::TooLarge {
                    limit: 30 * 1024 * 1024,
                },
                "larger than 30 MB",
            ),
            (
                FetchError::Timeout {
                    after: Duration::from_secs(60),
                },
                "timed out after 60 s",
            ),
            (
                FetchError::TooManyRedirects { max: 5 },
                "more than 5 redirects",
            ),
            (
                FetchError::HttpStatus {
                    status: 404,
                    host: "cdn.example".into(),
                },
                "HTTP 404 from cdn.example",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
            assert!(error.is_client_fault());
        }
        assert!(!FetchError::ClientBuild { reason: "x".into() }.is_client_fault());
    }

    #[test]
    fn long_urls_are_shortened() {
        let long = format!("https://example.com/{}", "a".repeat(500));
        let short = shorten_url(&long);
        assert!(short.chars().count() <= 101);
        assert!(short.ends_with('…'));
    }
}

//! The fetcher against a local server. The policy trusts exactly the host `127.0.0.1`
//! (allow_http on, private networks off), so everything else on loopback, private ranges
//! and names resolving there must be refused, and refused before any connection.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reelay_media::{
    AddressClass, FetchError, FetchPolicy, Fetcher, HostResolver, LookupFuture, SystemResolver,
};

use crate::server::TestServer;

/// Resolves a fixed table of test names; other names go to the system resolver.
struct TableResolver(HashMap<&'static str, Vec<IpAddr>>);

impl HostResolver for TableResolver {
    fn lookup(&self, host: &str) -> LookupFuture {
        match self.0.get(host) {
            Some(ips) => {
                let ips = ips.clone();
                Box::pin(async move { Ok(ips) })
            }
            None => SystemResolver.lookup(host),
        }
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test address")
}

fn test_policy() -> FetchPolicy {
    FetchPolicy {
        allow_http: true,
        allow_private_networks: false,
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_millis(500),
        trusted_hosts: vec!["127.0.0.1".to_owned()],
        ..FetchPolicy::default()
    }
}

fn fetcher_with(policy: FetchPolicy) -> Fetcher {
    let table = HashMap::from([
        ("evil.test", vec![ip("10.1.2.3")]),
        ("metadata.test", vec![ip("169.254.169.254")]),
        ("canary.test", vec![ip("127.0.0.2")]),
        ("mixed.test", vec![ip("8.8.8.8"), ip("192.168.0.1")]),
        ("mapped.test", vec![ip("::ffff:10.0.0.1")]),
        ("empty.test", vec![]),
    ]);
    Fetcher::with_resolver(policy, Arc::new(TableResolver(table))).expect("fetcher builds")
}

fn fetcher() -> Fetcher {
    fetcher_with(test_policy())
}

#[tokio::test]
async fn fetches_a_body_with_its_content_type() {
    let server = TestServer::start("127.0.0.1").await;
    let fetched = fetcher()
        .get(&server.url("/ok"), 1024)
        .await
        .expect("fetch ok");
    assert_eq!(&fetched.bytes[..], b"hello reelay");
    assert_eq!(
        fetched.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(fetched.final_url.as_str(), server.url("/ok"));
}

#[tokio::test]
async fn follows_up_to_five_redirects_and_reports_the_final_url() {
    let server = TestServer::start("127.0.0.1").await;
    let fetched = fetcher()
        .get(&server.url("/redirect/4"), 1024)
        .await
        .expect("five hops are fine");
    assert_eq!(fetched.final_url.path(), "/ok");
    assert_eq!(&fetched.bytes[..], b"hello reelay");
}

#[tokio::test]
async fn refuses_more_than_five_redirects() {
    let server = TestServer::start("127.0.0.1").await;
    let error = fetcher()
        .get(&server.url("/redirect/5"), 1024)
        .await
        .expect_err("six hops are too many");
    assert_eq!(error, FetchError::TooManyRedirects { max: 5 });
    assert_eq!(error.to_string(), "more than 5 redirects");
    assert_eq!(server.connections(), 6);
}

#[tokio::test]
async fn refuses_non_public_literals_and_names_before_connecting() {
    let canary = TestServer::start("127.0.0.2").await;
    let port = canary.addr.port();
    let fetcher = fetcher();
    let cases = [
        (format!("http://localhost:{port}/ok"), "loopback"),
        (format!("http://127.0.0.2:{port}/ok"), "loopback"),
        (format!("http://2130706434:{port}/ok"), "loopback"),
        (format!("http://0x7f.0.0.2:{port}/ok"), "loopback"),
        (format!("http://0177.0.0.2:{port}/ok"), "loopback"),
        (format!("http://127.0.0.2.:{port}/ok"), "loopback"),
        (format!("http://[::1]:{port}/ok"), "loopback"),
        (format!("http://[::ffff:127.0.0.2]:{port}/ok"), "loopback"),
        (format!("http://canary.test:{port}/ok"), "loopback"),
        (format!("http://0.0.0.0:{port}/ok"), "unspecified"),
        (format!("http://10.0.0.1:{port}/ok"), "private"),
        (
            format!("http://169.254.169.254:{port}/latest/meta-data/"),
            "metadata",
        ),
        (format!("http://[fe80::1]:{port}/ok"), "link-local"),
        (format!("http://[fd00::1]:{port}/ok"), "unique-local"),
        (format!("http://evil.test:{port}/ok"), "private"),
        (format!("http://metadata.test:{port}/ok"), "metadata"),
        (format!("http://mixed.test:{port}/ok"), "private"),
        (format!("http://mapped.test:{port}/ok"), "private"),
    ];
    for (url, class_word) in cases {
        let error = fetcher.get(&url, 1024).await.expect_err(&url);
        assert!(
            matches!(error, FetchError::BlockedAddress { .. }),
            "{url}: expected a refused address, got {error:?}"
        );
        assert!(
            error.to_string().contains(class_word),
            "{url}: message {error} should say {class_word}"
        );
        assert!(error.is_client_fault());
    }
    assert_eq!(canary.connections(), 0, "a refused URL reached the canary");
}

#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_named_in_the_message() {
    let error = fetcher()
        .get("http://evil.test/a.png", 1024)
        .await
        .expect_err("refused");
    assert_eq!(
        error.to_string(),
        "host evil.test resolves to 10.1.2.3, a private address"
    );
    assert_eq!(
        error,
        FetchError::BlockedAddress {
            host: "evil.test".to_owned(),
            ip: ip("10.1.2.3"),
            class: AddressClass::Private,
        }
    );
}

#[tokio::test]
async fn redirects_into_refused_addresses_are_refused_before_connecting() {
    let server = TestServer::start("127.0.0.1").await;
    let canary = TestServer::start("127.0.0.2").await;
    let port = canary.addr.port();
    let fetcher = fetcher();
    let targets = [
        format!("http://localhost:{port}/ok"),
        format!("http://127.0.0.2:{port}/ok"),
        format!("http://[::1]:{port}/ok"),
        format!("http://[::ffff:127.0.0.1]:{port}/ok"),
        format!("http://10.0.0.1:{port}/ok"),
        format!("http://169.254.169.254:{port}/latest/meta-data/"),
        format!("http://canary.test:{port}/ok"),
        format!("http://evil.test:{port}/ok"),
    ];
    for target in targets {
        let before = server.connections();
        let error = fetcher
            .get(&server.url(&format!("/to?{target}")), 1024)
            .await
            .expect_err(&target);
        assert!(
            matches!(error, FetchError::BlockedAddress { .. }),
            "redirect to {target}: got {error:?}"
        );
        assert_eq!(
            server.connections(),
            before + 1,
            "only the first hop connects"
        );
    }
    assert_eq!(canary.connections(), 0);
}

#[tokio::test]
async fn redirects_to_other_schemes_or_with_userinfo_are_refused() {
    let server = TestServer::start("127.0.0.1").await;
    let fetcher = fetcher();
    let error = fetcher
        .get(&server.url("/to?ftp://127.0.0.1/x"), 1024)
        .await
        .expect_err("ftp");
    assert!(
        matches!(error, FetchError::UnsupportedScheme { .. }),
        "{error:?}"
    );
    let target = server.url("/ok").replace("http://", "http://user:secret@");
    let error = fetcher
        .get(&server.url(&format!("/to?{target}")), 1024)
        .await
        .expect_err("userinfo");
    assert_eq!(error, FetchError::UserinfoNotAllowed);
}

#[tokio::test]
async fn http_is_refused_when_not_allowed_without_connecting() {
    let server = TestServer::start("127.0.0.1").await;
    let fetcher = fetcher_with(FetchPolicy {
        allow_http: false,
        ..test_policy()
    });
    let error = fetcher
        .get(&server.url("/ok"), 1024)
        .await
        .expect_err("http");
    assert!(matches!(error, FetchError::HttpsRequired { .. }));
    let error = fetcher
        .post(
            &server.url("/echo"),
            &[],
            b"{}".to_vec(),
            Duration::from_secs(1),
        )
        .await
        .expect_err("http");
    assert!(matches!(error, FetchError::HttpsRequired { .. }));
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn url_shape_checks_need_no_network() {
    let fetcher = Fetcher::new(FetchPolicy::default()).expect("fetcher");
    assert!(fetcher
        .check_url_shape("https://cdn.example.com/a.png")
        .is_ok());
    let cases = [
        (
            "https://user:pass@cdn.example.com/a.png",
            "user name or password",
        ),
        (
            "https://user@cdn.example.com/a.png",
            "user name or password",
        ),
        ("http://cdn.example.com/a.png", "https is required"),
        ("file:///etc/passwd", "only https"),
        ("ftp://cdn.example.com/a.png", "only https"),
        ("not a url", "not a valid URL"),
        ("https://", "not a valid URL"),
    ];
    for (url, expected) in cases {
        let error = fetcher.check_url_shape(url).expect_err(url);
        assert!(
            error.to_string().contains(expected),
            "{url}: {error} should contain {expected}"
        );
        assert!(error.is_client_fault());
    }
}

#[tokio::test]
async fn oversize_bodies_are_refused_with_or_without_content_length() {
    let server = TestServer::start("127.0.0.1").await;
    let fetcher = fetcher();
    let error = fetcher
        .get(&server.url("/bytes/5000"), 4096)
        .await
        .expect_err("content-length too large");
    assert_eq!(error, FetchError::TooLarge { limit: 4096 });
    assert_eq!(error.to_string(), "larger than 4 KB");
    let error = fetcher
        .get(&server.url("/chunked/200000"), 100_000)
        .await
        .expect_err("streamed too large");
    assert_eq!(error, FetchError::TooLarge { limit: 100_000 });
    let fetched = fetcher
        .get(&server.url("/chunked/100000"), 100_000)
        .await
        .expect("exactly the cap is fine");
    assert_eq!(fetched.bytes.len(), 100_000);
    let fetched = fetcher
        .get(&server.url("/bytes/4096"), 4096)
        .await
        .expect("exactly the cap is fine");
    assert_eq!(fetched.bytes.len(), 4096);
}

#[tokio::test]
async fn slow_responses_time_out() {
    let server = TestServer::start("127.0.0.1").await;
    let fetcher = fetcher_with(FetchPolicy {
        timeout: Duration::from_millis(300),
        ..test_policy()
    });
    for path in ["/slow-headers", "/slow-body"] {
        let started = std::time::Instant::now();
        let error = fetcher.get(&server.url(path), 1024).await.expect_err(path);
        assert_eq!(error.to_string(), "timed out after 0.3 s");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

#[tokio::test]
async fn upstream_errors_name_the_status() {
    let server = TestServer::start("127.0.0.1").await;
    let error = fetcher()
        .get(&server.url("/missing"), 1024)
        .await
        .expect_err("404");
    assert_eq!(error.to_string(), "HTTP 404 from 127.0.0.1");
    assert!(error.is_client_fault());
}

#[tokio::test]
async fn unresolvable_and_unreachable_hosts_are_client_faults() {
    let fetcher = fetcher();
    let error = fetcher
        .get("http://empty.test/a.png", 1024)
        .await
        .expect_err("no addresses");
    assert!(matches!(error, FetchError::Dns { .. }), "{error:?}");
    // A port on the trusted host with nothing listening.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let error = fetcher
        .get(&format!("http://127.0.0.1:{closed}/"), 1024)
        .await
        .expect_err("refused");
    assert!(matches!(error, FetchError::Connect { .. }), "{error:?}");
    assert!(error.is_client_fault());
}

#[tokio::test]
async fn private_networks_can_be_allowed_for_development() {
    let server = TestServer::start("127.0.0.1").await;
    let fetcher = fetcher_with(FetchPolicy {
        allow_private_networks: true,
        trusted_hosts: Vec::new(),
        ..test_policy()
    });
    let url = format!("http://localhost:{}/ok", server.addr.port());
    let fetched = fetcher
        .get(&url, 1024)
        .await
        .expect("allowed in development");
    assert_eq!(&fetched.bytes[..], b"hello reelay");
}

#[tokio::test]
async fn post_sends_headers_and_body_and_does_not_follow_redirects() {
    let server = TestServer::start("127.0.0.1").await;
    let fetcher = fetcher();
    let headers = vec![
        ("x-test".to_owned(), "tag-1".to_owned()),
        ("content-type".to_owned(), "application/json".to_owned()),
    ];
    let outcome = fetcher
        .post(
            &server.url("/echo"),
            &headers,
            b"{\"a\":1}".to_vec(),
            Duration::from_secs(2),
        )
        .await
        .expect("post ok");
    assert_eq!(outcome.status, 201);
    assert_eq!(&outcome.body[..], b"{\"a\":1}");
    assert!(!outcome.body_truncated);

    let outcome = fetcher
        .post(
            &server.url("/redirect/1"),
            &[],
            Vec::new(),
            Duration::from_secs(2),
        )
        .await
        .expect("post ok");
    assert_eq!(outcome.status, 302);

    let outcome = fetcher
        .post(
            &server.url("/bytes/100000"),
            &[],
            Vec::new(),
            Duration::from_secs(2),
        )
        .await
        .expect("post ok");
    assert_eq!(outcome.body.len(), reelay_media::POST_BODY_LIMIT);
    assert!(outcome.body_truncated);
}

#[tokio::test]
async fn post_applies_the_address_rules_and_its_timeout() {
    let server = TestServer::start("127.0.0.1").await;
    let fetcher = fetcher();
    for url in [
        "http://10.0.0.1/hook",
        "http://evil.test/hook",
        "http://[::1]/hook",
    ] {
        let error = fetcher
            .post(url, &[], Vec::new(), Duration::from_secs(1))
            .await
            .expect_err(url);
        assert!(
            matches!(error, FetchError::BlockedAddress { .. }),
            "{url}: {error:?}"
        );
    }
    let error = fetcher
        .post(
            &server.url("/slow-headers"),
            &[],
            Vec::new(),
            Duration::from_millis(200),
        )
        .await
        .expect_err("slow");
    assert_eq!(error.to_string(), "timed out after 0.2 s");
    let bad_header = vec![("bad header".to_owned(), "x".to_owned())];
    let error = fetcher
        .post(
            &server.url("/echo"),
            &bad_header,
            Vec::new(),
            Duration::from_secs(1),
        )
        .await
        .expect_err("bad header");
    assert!(!error.is_client_fault());
}

/// Never answers: a lookup that takes longer than the create-time check waits.
struct SlowResolver;

impl HostResolver for SlowResolver {
    fn lookup(&self, _host: &str) -> LookupFuture {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(vec![ip("10.0.0.1")])
        })
    }
}

#[tokio::test]
async fn the_create_time_check_refuses_private_literals_and_names_and_leaves_the_rest() {
    let fetcher = fetcher();
    let within = Duration::from_millis(500);
    for (url, class) in [
        ("http://10.0.0.1/a.png", AddressClass::Private),
        ("https://192.168.1.1/a.png", AddressClass::Private),
        ("https://127.0.0.2/a.png", AddressClass::Loopback),
        ("https://[::1]/a.png", AddressClass::Loopback),
        ("https://[fd00::1]/a.png", AddressClass::UniqueLocal),
        (
            "https://169.254.169.254/latest/",
            AddressClass::CloudMetadata,
        ),
        ("https://evil.test/a.png", AddressClass::Private),
        ("https://mixed.test/a.png", AddressClass::Private),
        ("https://mapped.test/a.png", AddressClass::Private),
    ] {
        let error = fetcher.check_addresses(url, within).await.expect_err(url);
        assert!(
            matches!(error, FetchError::BlockedAddress { class: c, .. } if c == class),
            "{url}: {error:?}"
        );
        assert!(error.is_refused_by_policy());
    }
    // The trusted host, names with no answer, and URLs the fetch will judge are left alone.
    for url in [
        "http://127.0.0.1:9/a.png",
        "https://empty.test/a.png",
        "not a url",
        "ftp://10.0.0.1/a",
    ] {
        if url.starts_with("ftp") {
            // A literal is judged by its address whatever the scheme.
            assert!(fetcher.check_addresses(url, within).await.is_err());
        } else {
            assert!(fetcher.check_addresses(url, within).await.is_ok(), "{url}");
        }
    }
    // A slow resolver is not waited for.
    let slow = Fetcher::with_resolver(test_policy(), Arc::new(SlowResolver)).expect("fetcher");
    let started = std::time::Instant::now();
    assert!(slow
        .check_addresses("https://slow.test/a.png", Duration::from_millis(100))
        .await
        .is_ok());
    assert!(started.elapsed() < Duration::from_secs(5));
    // With private networks allowed, nothing is refused.
    let open = fetcher_with(FetchPolicy {
        allow_private_networks: true,
        ..test_policy()
    });
    assert!(open
        .check_addresses("https://evil.test/a.png", within)
        .await
        .is_ok());
    assert!(open
        .check_addresses("http://10.0.0.1/a.png", within)
        .await
        .is_ok());
}

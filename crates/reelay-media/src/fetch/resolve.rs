//! DNS resolution that refuses non-public addresses inside the connection path.
//!
//! [`GuardedResolver`] is installed as the reqwest client's resolver: the addresses it
//! hands to the connector are the ones it checked, so there is no gap between checking
//! and connecting for DNS rebinding to slip through. [`HostResolver`] is the pluggable
//! lookup underneath ([`SystemResolver`] in production, a fixed table in tests).
//!
//! Architecture Invariant: reqwest skips the resolver for IP-literal hosts, so the
//! fetcher checks literals itself before every request (see `Fetcher::check_literal_host`).

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::fetch::FetchError;
use crate::ip::{classify_ip, AddressClass};

/// A boxed future returned by [`HostResolver::lookup`].
pub type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Looks up the addresses of a host name. The fetcher checks whatever this returns.
pub trait HostResolver: Send + Sync {
    /// All addresses of `host` (a domain name, never an IP literal).
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The operating system's resolver (`getaddrinfo` through tokio).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_owned();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|addr| addr.ip()).collect())
        })
    }
}

/// Which addresses the fetcher may connect to.
#[derive(Clone, Debug)]
pub(crate) struct AddressRule {
    /// Skip the public-address check entirely (development only).
    pub(crate) allow_private_networks: bool,
    /// Hosts exempt from the check, lowercased, as written in URLs.
    pub(crate) trusted_hosts: Arc<[String]>,
}

impl AddressRule {
    /// Refuses `ip` for `host` unless it is public or the rule exempts it.
    pub(crate) fn check(&self, host: &str, ip: IpAddr) -> Result<(), FetchError> {
        if self.allow_private_networks || self.is_trusted(host) {
            return Ok(());
        }
        match classify_ip(ip) {
            AddressClass::Public => Ok(()),
            class => {
                tracing::debug!(%host, %ip, %class, "refusing non-public address");
                Err(FetchError::BlockedAddress {
                    host: host.to_owned(),
                    ip,
                    class,
                })
            }
        }
    }

    pub(crate) fn is_trusted(&self, host: &str) -> bool {
        self.trusted_hosts
            .iter()
            .any(|trusted| trusted.eq_ignore_ascii_case(host))
    }
}

/// The reqwest resolver: looks a name up, then refuses the whole answer if any address
/// in it is not allowed (a public name that also resolves to 10.x is a rebinding attempt,
/// not a host to try the "good" half of).
pub(crate) struct GuardedResolver {
    pub(crate) lookup: Arc<dyn HostResolver>,
    pub(crate) rule: AddressRule,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let lookup = self.lookup.lookup(&host);
        let rule = self.rule.clone();
        Box::pin(async move {
            let ips = lookup.await.map_err(|error| FetchError::Dns {
                host: host.clone(),
                reason: error.to_string(),
            })?;
            if ips.is_empty() {
                return Err(FetchError::Dns {
                    host,
                    reason: "no addresses found".to_owned(),
                }
                .into());
            }
            for ip in &ips {
                rule.check(&host, *ip)?;
            }
            let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

//! Where the load goes: the server's loopback address, and the loopback source addresses
//! connections are spread over.
//!
//! Load is only ever sent to this machine (loopback), so a mistyped URL can never turn a
//! benchmark into traffic against someone else's host: anything that is not 127.0.0.0/8,
//! `::1` or `localhost` is refused before a single request is made.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::error::{Error, Result};

/// A validated Parley base URL on loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http://host:port` without a trailing slash, for REST calls.
    pub base: String,
    /// The socket address WebSockets connect to.
    pub addr: SocketAddr,
}

impl Target {
    /// Parses `http://127.0.0.1:8080` (a path of `/` at most). `https` is refused: loopback
    /// benchmarks have no TLS, and the HTTP client here is built without it.
    pub fn parse(url: &str) -> Result<Self> {
        let u = reqwest::Url::parse(url)
            .map_err(|e| Error::usage(format!("--url {url:?} is not a URL: {e}")))?;
        if u.scheme() != "http" {
            return Err(Error::usage(format!(
                "--url must be http:// (got {}://); loadgen speaks plain HTTP to loopback only",
                u.scheme()
            )));
        }
        if !(u.path().is_empty() || u.path() == "/") || u.query().is_some() {
            return Err(Error::usage(
                "--url is the server's base URL, e.g. http://127.0.0.1:8080 (no path or query)",
            ));
        }
        let host = u.host_str().unwrap_or("");
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let ip = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else if let Ok(ip) = bare.parse::<IpAddr>() {
            ip
        } else {
            return Err(Error::usage(format!(
                "--url host must be a loopback address (127.0.0.0/8, ::1 or localhost); \
                 refusing {url:?}"
            )));
        };
        if !ip.is_loopback() {
            return Err(Error::usage(format!(
                "--url host {ip} is not a loopback address; loadgen only loads this machine"
            )));
        }
        let port = u.port_or_known_default().unwrap_or(80);
        let addr = SocketAddr::new(ip, port);
        let host = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        Ok(Target {
            base: format!("http://{host}:{port}"),
            addr,
        })
    }

    /// `ws://host:port{path_and_query}`.
    pub fn ws_url(&self, path_and_query: &str) -> String {
        format!("ws{}{}", &self.base["http".len()..], path_and_query)
    }
}

/// Parses `127.0.0.2,127.0.0.3`: loopback addresses of the target's family.
pub fn parse_source_addrs(list: &str, target: &Target) -> Result<Vec<IpAddr>> {
    let mut out = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let ip: IpAddr = part
            .parse()
            .map_err(|_| Error::usage(format!("--source-addrs: {part:?} is not an IP address")))?;
        if !ip.is_loopback() {
            return Err(Error::usage(format!(
                "--source-addrs: {ip} is not a loopback address"
            )));
        }
        if ip.is_ipv4() != target.addr.is_ipv4() {
            return Err(Error::usage(format!(
                "--source-addrs: {ip} is not of the same family as the target {}",
                target.addr.ip()
            )));
        }
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    if out.is_empty() {
        return Err(Error::usage("--source-addrs: no address given"));
    }
    Ok(out)
}

/// The ephemeral port range (`/proc/sys/net/ipv4/ip_local_port_range`), which bounds the
/// connections from one source address to one server port.
pub fn ephemeral_ports() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| parse_port_range(&s))
        .unwrap_or(28_232)
}

fn parse_port_range(s: &str) -> Option<u32> {
    let mut it = s.split_whitespace().map(str::parse::<u32>);
    let lo = it.next()?.ok()?;
    let hi = it.next()?.ok()?;
    (hi >= lo).then(|| hi - lo + 1)
}

/// Checks that `connections` spread round-robin over `addrs` fit in the ephemeral ports
/// of each address (with 5% kept free for sockets still in TIME_WAIT from earlier runs).
pub fn check_port_capacity(connections: usize, addrs: &[IpAddr], ports: u32) -> Result<()> {
    let per_addr = connections.div_ceil(addrs.len().max(1));
    let usable = (ports as usize) * 95 / 100;
    if per_addr > usable {
        let need = connections.div_ceil(usable.max(1));
        return Err(Error::usage(format!(
            "{connections} connections over {} source address(es) is {per_addr} per address, \
             more than the ~{usable} ephemeral ports each; give at least {need} addresses \
             with --source-addrs (e.g. 127.0.0.2,127.0.0.3)",
            addrs.len()
        )));
    }
    Ok(())
}

/// Hands out source addresses round-robin, so connection `i` uses `addrs[i % len]`.
#[derive(Debug, Clone)]
pub struct SourceRotation {
    addrs: Vec<IpAddr>,
}

impl SourceRotation {
    pub fn new(addrs: Vec<IpAddr>) -> Self {
        assert!(!addrs.is_empty(), "at least one source address");
        Self { addrs }
    }

    pub fn for_connection(&self, i: usize) -> IpAddr {
        self.addrs[i % self.addrs.len()]
    }

    pub fn len(&self) -> usize {
        self.addrs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_loopback_targets() {
        let t = Target::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(t.base, "http://127.0.0.1:8080");
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            t.ws_url("/public/api/v1/realtime?pubsub_token=x"),
            "ws://127.0.0.1:8080/public/api/v1/realtime?pubsub_token=x"
        );
        let t = Target::parse("http://localhost:9000/").unwrap();
        assert_eq!(t.addr, "127.0.0.1:9000".parse().unwrap());
        let t = Target::parse("http://127.9.8.7").unwrap();
        assert_eq!(t.addr.port(), 80);
        let t = Target::parse("http://[::1]:8080").unwrap();
        assert_eq!(t.base, "http://[::1]:8080");
        assert_eq!(t.ws_url("/x"), "ws://[::1]:8080/x");
    }

    #[test]
    fn refuses_anything_not_loopback() {
        for url in [
            "http://10.0.0.1:8080",
            "http://192.168.1.5",
            "http://8.8.8.8",
            "http://example.com:8080",
            "http://localhost.example.com",
            "http://[2001:db8::1]:8080",
            "http://0.0.0.0:8080",
            "https://127.0.0.1:8443",
            "ws://127.0.0.1:8080",
            "http://127.0.0.1:8080/api",
            "127.0.0.1:8080",
            "not a url",
        ] {
            let e = Target::parse(url).expect_err(url);
            assert!(matches!(e, Error::Usage(_)), "{url}: {e}");
        }
    }

    #[test]
    fn source_addresses_must_be_loopback_and_same_family() {
        let t = Target::parse("http://127.0.0.1:8080").unwrap();
        let a = parse_source_addrs("127.0.0.2, 127.0.0.3,127.0.0.2", &t).unwrap();
        assert_eq!(a.len(), 2, "duplicates are dropped");
        assert!(parse_source_addrs("10.0.0.2", &t).is_err());
        assert!(parse_source_addrs("::1", &t).is_err());
        assert!(parse_source_addrs("127.0.0.x", &t).is_err());
        assert!(parse_source_addrs(" , ", &t).is_err());
    }

    #[test]
    fn rotation_is_round_robin() {
        let r = SourceRotation::new(vec![
            "127.0.0.2".parse().unwrap(),
            "127.0.0.3".parse().unwrap(),
        ]);
        let picks: Vec<String> = (0..5).map(|i| r.for_connection(i).to_string()).collect();
        assert_eq!(
            picks,
            [
                "127.0.0.2",
                "127.0.0.3",
                "127.0.0.2",
                "127.0.0.3",
                "127.0.0.2"
            ]
        );
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn port_capacity_per_address() {
        let one = vec!["127.0.0.2".parse().unwrap()];
        let two = vec!["127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap()];
        assert!(check_port_capacity(19_000, &one, 28_232).is_ok());
        assert!(check_port_capacity(30_000, &one, 28_232).is_err());
        assert!(check_port_capacity(30_000, &two, 28_232).is_ok());
        assert_eq!(parse_port_range("32768\t60999\n"), Some(28_232));
        assert_eq!(parse_port_range("garbage"), None);
    }
}

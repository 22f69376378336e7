//! Finds the addresses behind a name: a hosts-format file first (the test
//! hook `global.hosts_file`), then the system resolver (getaddrinfo through
//! tokio's `lookup_host`).
//!
//! Not hickory: the system resolver honours the machine's own configuration
//! (nsswitch, /etc/hosts, search domains, a local caching resolver) exactly
//! as the customers' browsers on such a machine do, and keeps the dependency
//! tree lean. What a test needs from a resolver of its own — one name that
//! leads to 127.0.0.1 and 127.0.0.2 — the hosts file gives without touching
//! /etc/hosts.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use crate::config::IpProtocol;

/// Names mapped to addresses, as a hosts file lists them, in file order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Hosts(HashMap<String, Vec<IpAddr>>);

impl Hosts {
    /// Reads a hosts-format file: `ADDRESS NAME [NAME...]`, `#` comments.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|m| format!("{}: {m}", path.display()))
    }

    /// Parses hosts-file text; a line whose address does not parse is an error.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut names: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            let Some(addr) = words.next() else { continue };
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| format!("line {}: '{addr}' is not an IP address", n + 1))?;
            for name in words {
                let list = names.entry(name.to_ascii_lowercase()).or_default();
                if !list.contains(&ip) {
                    list.push(ip);
                }
            }
        }
        Ok(Hosts(names))
    }

    /// Every name with its addresses (in file order), e.g. for a browser's
    /// own resolver rules.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &[IpAddr])> {
        self.0.iter().map(|(n, a)| (n.as_str(), a.as_slice()))
    }

    fn get(&self, host: &str) -> Option<&[IpAddr]> {
        self.0.get(&host.to_ascii_lowercase()).map(Vec::as_slice)
    }
}

/// Every address of `host` of the allowed family, in resolver order, without
/// duplicates. A literal address is its own answer. An error is a message
/// for the run's outcome.
pub async fn lookup(
    hosts: &Hosts,
    host: &str,
    port: u16,
    family: IpProtocol,
) -> Result<Vec<IpAddr>, String> {
    let found: Vec<IpAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
        vec![ip]
    } else if let Some(list) = hosts.get(host) {
        list.to_vec()
    } else {
        tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("resolving {host}: {e}"))?
            .map(|a| a.ip())
            .collect()
    };
    let mut out: Vec<IpAddr> = Vec::with_capacity(found.len());
    for ip in found {
        if family.allows(ip) && !out.contains(&ip) {
            out.push(ip);
        }
    }
    if out.is_empty() {
        let which = match family {
            IpProtocol::Any => "no addresses",
            IpProtocol::Ip4 => "no IPv4 addresses (ip_protocol: ip4)",
            IpProtocol::Ip6 => "no IPv6 addresses (ip_protocol: ip6)",
        };
        return Err(format!("resolving {host}: {which}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_lists_every_address_of_a_name_in_order() {
        let h = Hosts::parse(
            "# test\n127.0.0.1 shop.test other\n127.0.0.2 SHOP.test # second\n::1 shop.test\n\n",
        )
        .unwrap();
        let ips: Vec<String> = h
            .get("shop.test")
            .unwrap()
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(ips, ["127.0.0.1", "127.0.0.2", "::1"]);
        assert_eq!(h.get("other").unwrap().len(), 1);
        assert!(h.get("missing").is_none());
        let err = Hosts::parse("localhost 127.0.0.1\n").unwrap_err();
        assert_eq!(err, "line 1: 'localhost' is not an IP address");
    }

    #[tokio::test]
    async fn lookup_keeps_only_the_chosen_family() {
        let h = Hosts::parse("127.0.0.1 a.test\n::1 a.test\n127.0.0.2 a.test\n").unwrap();
        let v4 = lookup(&h, "a.test", 80, IpProtocol::Ip4).await.unwrap();
        assert_eq!(v4.len(), 2);
        assert!(v4.iter().all(|i| i.is_ipv4()));
        let v6 = lookup(&h, "a.test", 80, IpProtocol::Ip6).await.unwrap();
        assert_eq!(v6, vec!["::1".parse::<IpAddr>().unwrap()]);
        assert_eq!(
            lookup(&h, "a.test", 80, IpProtocol::Any)
                .await
                .unwrap()
                .len(),
            3
        );
        let only4 = Hosts::parse("127.0.0.1 b.test\n").unwrap();
        assert_eq!(
            lookup(&only4, "b.test", 80, IpProtocol::Ip6)
                .await
                .unwrap_err(),
            "resolving b.test: no IPv6 addresses (ip_protocol: ip6)"
        );
        assert_eq!(
            lookup(&only4, "::1", 80, IpProtocol::Any).await.unwrap(),
            vec!["::1".parse::<IpAddr>().unwrap()]
        );
    }
}

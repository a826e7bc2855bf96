//! Who the client is, behind proxies: the peer's address, or — only when the peer is
//! a proxy the server trusts — the address that proxy says it forwarded for, read
//! from `Forwarded` (RFC 7239) or `X-Forwarded-For`.
//!
//! Each proxy appends the address it received the request from, so the list grows to
//! the right and only its right end is vouched for: the client is the **rightmost
//! address that is not a trusted proxy**. Everything left of it was written by the
//! client (or by proxies the server does not know) and is never read. A peer that is
//! not trusted is the client, whatever headers it sends.
//!
//! The address is then turned into the key a client is throttled by
//! ([`ClientAddr::key`]): an IPv4 address as it is, an IPv6 address by its /64 (one
//! subscriber usually holds a whole /64, so keying by /128 would give each of them
//! 2^64 budgets).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address block, `address/prefix` (`10.0.0.0/8`, `2001:db8::/32`), or a single
/// address (`/32` or `/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why a [`Cidr`] could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidrError {
    /// The address part is not an IPv4 or IPv6 address.
    #[error("`{0}` is not an IP address")]
    Address(String),
    /// The prefix length is not a number within the address's bits.
    #[error("the prefix length `{0}` is not between 0 and the address's bits")]
    Prefix(String),
    /// Bits are set beyond the prefix (`10.0.0.1/8`): a typo that would trust more,
    /// or other, addresses than written.
    #[error("`{0}` has bits set beyond its prefix length")]
    HostBits(String),
}

fn bits(addr: IpAddr) -> (u128, u8) {
    match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

/// The mask of the top `prefix` bits of a `width`-bit address, in the low bits.
fn mask(prefix: u8, width: u8) -> u128 {
    let host = width.saturating_sub(prefix);
    let all = if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width).wrapping_sub(1)
    };
    // `host` is at most 128; shifting a u128 by 128 is checked to zero.
    let host_mask = 1u128
        .checked_shl(u32::from(host))
        .map_or(u128::MAX, |b| b.wrapping_sub(1));
    all & !host_mask
}

impl Cidr {
    /// The block of `prefix` bits at `addr`; `None` if the prefix is longer than the
    /// address or bits are set beyond it.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        let (value, width) = bits(addr);
        (prefix <= width && value & !mask(prefix, width) == 0).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside the block (an IPv4 address mapped into IPv6,
    /// `::ffff:a.b.c.d`, counts as that IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let (net, width) = bits(self.addr);
        let (value, ip_width) = bits(ip);
        width == ip_width && value & mask(self.prefix, width) == net
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| CidrError::Address(addr.to_owned()))?;
        let width = bits(addr).1;
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= width && !p.starts_with('+'))
                .ok_or_else(|| CidrError::Prefix(p.to_owned()))?,
        };
        Cidr::new(addr, prefix).ok_or_else(|| CidrError::HostBits(s.to_owned()))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An IPv4 address mapped into IPv6 as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The proxies whose forwarding headers a server believes. Empty by default: then no
/// forwarding header is ever read, and every client is its peer address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    blocks: Vec<Cidr>,
}

impl TrustedProxies {
    /// No trusted proxy.
    pub fn none() -> TrustedProxies {
        TrustedProxies::default()
    }

    /// The proxies in `blocks`.
    pub fn new(blocks: impl IntoIterator<Item = Cidr>) -> TrustedProxies {
        TrustedProxies {
            blocks: blocks.into_iter().collect(),
        }
    }

    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.blocks.iter().any(|b| b.contains(ip))
    }

    /// Whether there is any.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The client of a request that came from `peer` carrying the field lines of
    /// `Forwarded` (`forwarded`) and of `X-Forwarded-For` (`x_forwarded_for`), in the
    /// order received. The peer unless it is trusted; then the rightmost address of
    /// `Forwarded` (or, when that field is absent, `X-Forwarded-For`) that is not a
    /// trusted proxy. A list that cannot be read, or an element that is not an
    /// address (`unknown`, an obfuscated name), stops the walk: the client is then
    /// the last trusted hop, so a malformed header never lets anyone choose an
    /// address.
    pub fn client<'h>(
        &self,
        peer: IpAddr,
        forwarded: impl IntoIterator<Item = &'h [u8]>,
        x_forwarded_for: impl IntoIterator<Item = &'h [u8]>,
    ) -> ClientAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return ClientAddr(peer);
        }
        let forwarded: Vec<&[u8]> = forwarded.into_iter().collect();
        let hops = if forwarded.is_empty() {
            hops(x_forwarded_for, split_plain, xff_element)
        } else {
            hops(forwarded, split_quoted, forwarded_element)
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) => {
                    client = canonical(*ip);
                    if !self.contains(client) {
                        break;
                    }
                }
                None => break,
            }
        }
        ClientAddr(client)
    }
}

/// The elements of a comma-separated list over several field lines, each read by
/// `element` (`None`: not an address, or the line is not text), split by `split`.
fn hops<'h>(
    lines: impl IntoIterator<Item = &'h [u8]>,
    split: fn(&str) -> Vec<&str>,
    element: fn(&str) -> Option<IpAddr>,
) -> Vec<Option<IpAddr>> {
    let mut out = Vec::new();
    for line in lines {
        let Ok(text) = std::str::from_utf8(line) else {
            out.push(None);
            continue;
        };
        out.extend(split(text).into_iter().map(element));
    }
    out
}

/// Empty elements are allowed in a list (RFC 9110 §5.6.1) and skipped.
fn non_empty(parts: Vec<&str>) -> Vec<&str> {
    parts
        .into_iter()
        .map(|p| p.trim_matches([' ', '\t']))
        .filter(|p| !p.is_empty())
        .collect()
}

/// `X-Forwarded-For` has no quoted strings: split at every comma.
fn split_plain(text: &str) -> Vec<&str> {
    non_empty(text.split(',').collect())
}

/// `Forwarded` may quote values, so commas inside quotes do not split. Scanned from
/// the right, where the trusted proxies wrote: a stray quote that a client put on
/// the left cannot swallow the elements appended after it.
fn split_quoted(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut end, mut quoted) = (text.len(), false);
    for (i, c) in text.char_indices().rev() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(text.get(i.saturating_add(1)..end).unwrap_or_default());
                end = i;
            }
            _ => {}
        }
    }
    parts.push(text.get(..end).unwrap_or_default());
    parts.reverse();
    non_empty(parts)
}

/// One `X-Forwarded-For` element: an address, optionally `[v6]` or with a port.
fn xff_element(e: &str) -> Option<IpAddr> {
    node(e)
}

/// One `Forwarded` element (`for=…;proto=…;by=…`): its `for` node.
fn forwarded_element(e: &str) -> Option<IpAddr> {
    let mut found = None;
    for pair in e.split(';') {
        let (name, value) = pair.trim_matches([' ', '\t']).split_once('=')?;
        if name.eq_ignore_ascii_case("for") {
            if found.is_some() {
                // Two `for`s in one element: not a list anyone should trust.
                return None;
            }
            let value = match value.strip_prefix('"') {
                Some(rest) => rest.strip_suffix('"')?,
                None => value,
            };
            found = Some(node(value)?);
        }
    }
    found
}

/// A node: `a.b.c.d`, `a.b.c.d:port`, `[v6]`, `[v6]:port`, or a bare v6 address.
fn node(n: &str) -> Option<IpAddr> {
    if let Some(rest) = n.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        return port_ok
            .then(|| v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6))
            .flatten();
    }
    if let Ok(ip) = n.parse::<IpAddr>() {
        return Some(ip);
    }
    let (v4, port) = n.rsplit_once(':')?;
    let port_ok = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    port_ok
        .then(|| v4.parse::<Ipv4Addr>().ok().map(IpAddr::V4))
        .flatten()
}

/// A client's address, as [`TrustedProxies::client`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(IpAddr);

impl ClientAddr {
    /// The client at `ip` (an IPv4-mapped IPv6 address as its IPv4 address).
    pub fn new(ip: IpAddr) -> ClientAddr {
        ClientAddr(canonical(ip))
    }

    /// The address.
    pub fn ip(&self) -> IpAddr {
        self.0
    }

    /// The key its throttles and connection caps count by: `client:a.b.c.d` for
    /// IPv4, `client:x:x:x:x::/64` for IPv6 (its /64).
    pub fn key(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => format!("client:{v4}"),
            IpAddr::V6(v6) => {
                let net = Ipv6Addr::from(u128::from(v6) & mask(64, 128));
                format!("client:{net}/64")
            }
        }
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn masks_by_hand() {
        assert_eq!(mask(0, 32), 0);
        assert_eq!(mask(8, 32), 0xff00_0000);
        assert_eq!(mask(32, 32), 0xffff_ffff);
        assert_eq!(mask(0, 128), 0);
        assert_eq!(mask(64, 128), u128::MAX << 64);
        assert_eq!(mask(128, 128), u128::MAX);
        assert_eq!(mask(127, 128), u128::MAX << 1);
    }
}

//! Who the client is behind proxies: RFC 7239 and `X-Forwarded-For` read only from
//! trusted peers, right to left; IPv6 clients keyed by /64.

use std::net::IpAddr;

use proptest::prelude::*;
use pw_auth_http::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn proxies(blocks: &[&str]) -> TrustedProxies {
    TrustedProxies::new(blocks.iter().map(|b| b.parse::<Cidr>().unwrap()))
}

const NONE: [&[u8]; 0] = [];

#[test]
fn blocks_parse_strictly() {
    for (text, shown) in [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("192.0.2.7", "192.0.2.7/32"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("::1", "::1/128"),
        ("::/0", "::/0"),
    ] {
        assert_eq!(text.parse::<Cidr>().unwrap().to_string(), shown);
    }
    for (bad, error) in [
        ("10.0.0.1/8", CidrError::HostBits("10.0.0.1/8".into())),
        ("10.0.0.0/33", CidrError::Prefix("33".into())),
        ("10.0.0.0/+8", CidrError::Prefix("+8".into())),
        ("10.0.0.0/", CidrError::Prefix(String::new())),
        ("2001:db8::/129", CidrError::Prefix("129".into())),
        (
            "proxy.example/8",
            CidrError::Address("proxy.example".into()),
        ),
        ("", CidrError::Address(String::new())),
    ] {
        assert_eq!(bad.parse::<Cidr>(), Err(error), "{bad}");
    }
    let e = "10.0.0.1/8".parse::<Cidr>().unwrap_err().to_string();
    assert_eq!(e, "`10.0.0.1/8` has bits set beyond its prefix length");
}

#[test]
fn blocks_contain_what_they_say() {
    let b: Cidr = "10.1.0.0/16".parse().unwrap();
    assert!(b.contains(ip("10.1.0.0")) && b.contains(ip("10.1.255.255")));
    assert!(!b.contains(ip("10.2.0.0")) && !b.contains(ip("10.0.255.255")));
    // An IPv4-mapped IPv6 peer is its IPv4 address; a v6 block never holds a v4 one.
    assert!(b.contains(ip("::ffff:10.1.2.3")));
    let v6: Cidr = "2001:db8::/32".parse().unwrap();
    assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
    assert!(!v6.contains(ip("10.1.2.3")));
    assert!(
        "0.0.0.0/0"
            .parse::<Cidr>()
            .unwrap()
            .contains(ip("203.0.113.9"))
    );
    assert!(!"0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("::1")));
}

#[test]
fn an_untrusted_peer_is_the_client_whatever_it_sends() {
    let none = TrustedProxies::none();
    let lying: [&[u8]; 1] = [b"198.51.100.1"];
    let c = none.client(ip("203.0.113.5"), [&b"for=198.51.100.1"[..]], lying);
    assert_eq!(c.ip(), ip("203.0.113.5"));
    let other = proxies(&["10.0.0.0/8"]);
    assert_eq!(
        other.client(ip("203.0.113.5"), NONE, lying).ip(),
        ip("203.0.113.5")
    );
}

#[test]
fn the_rightmost_untrusted_hop_is_the_client() {
    let p = proxies(&["10.0.0.0/8"]);
    let peer = ip("10.0.0.2");
    // X-Forwarded-For: whatever the client wrote, then what each proxy appended.
    let xff: [&[u8]; 2] = [b"1.2.3.4, 198.51.100.7", b"10.0.0.9"];
    assert_eq!(p.client(peer, NONE, xff).ip(), ip("198.51.100.7"));
    // Forwarded wins over X-Forwarded-For, and reads `for` (quoted, with ports).
    let fwd: [&[u8]; 1] = [
        br#"for=1.2.3.4, for="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.9, for=10.0.0.3:80"#,
    ];
    assert_eq!(p.client(peer, fwd, xff).ip(), ip("2001:db8:cafe::17"));
    // Only trusted hops: the leftmost of them (the first proxy) is as far as it goes.
    let all_ours: [&[u8]; 1] = [b"10.0.0.5, 10.0.0.6"];
    assert_eq!(p.client(peer, NONE, all_ours).ip(), ip("10.0.0.5"));
    // No header from a trusted peer: the peer.
    assert_eq!(p.client(peer, NONE, NONE).ip(), peer);
}

#[test]
fn a_hop_that_is_not_an_address_stops_the_walk() {
    let p = proxies(&["10.0.0.0/8"]);
    let peer = ip("10.0.0.2");
    for bad in [
        &b"for=unknown"[..],
        b"for=_hidden",
        b"for=\"[2001:db8::1\"",
        b"for=1.2.3.4;for=5.6.7.8",
        b"for",
        b"\xff",
    ] {
        let lines: [&[u8]; 2] = [bad, b"for=10.0.0.8"];
        assert_eq!(p.client(peer, lines, NONE).ip(), ip("10.0.0.8"), "{bad:?}");
    }
    for bad in [
        &b"1.2.3.4:"[..],
        b"[::1]x",
        b"1.2.3.4:8a",
        b"host.example",
        b"[2001:db8::1]:",
        b"[2001:db8::1]:8a",
    ] {
        let lines: [&[u8]; 1] = [bad];
        assert_eq!(p.client(peer, NONE, lines).ip(), peer, "{bad:?}");
    }
    // Empty list elements are skipped, not stops.
    let lines: [&[u8]; 1] = [b"198.51.100.7, , 10.0.0.8,"];
    assert_eq!(p.client(peer, NONE, lines).ip(), ip("198.51.100.7"));
}

/// Found by `a_client_cannot_choose_its_address`: a quote a client puts in front of the
/// list must not swallow the elements the proxies appended after it (a list split
/// from the left read the whole line as one quoted element).
#[test]
fn a_stray_quote_from_the_client_swallows_nothing() {
    let p = proxies(&["10.0.0.0/8"]);
    let peer = ip("10.0.0.1");
    let xff: [&[u8]; 1] = [b"\", 0.0.0.0"];
    assert_eq!(p.client(peer, NONE, xff).ip(), ip("0.0.0.0"));
    let fwd: [&[u8]; 1] = [b"for=\", for=198.51.100.7, for=10.0.0.9"];
    assert_eq!(p.client(peer, fwd, NONE).ip(), ip("198.51.100.7"));
}

/// A quoted `Forwarded` value may hold a comma (an extension's, say): it splits
/// nothing, so the hop it belongs to is still read.
#[test]
fn a_comma_inside_quotes_is_not_a_list_separator() {
    let p = proxies(&["10.0.0.0/8"]);
    let fwd: [&[u8]; 1] = [br#"for=198.51.100.7;ext="a,b", for=10.0.0.9"#];
    assert_eq!(p.client(ip("10.0.0.1"), fwd, NONE).ip(), ip("198.51.100.7"));
    let quoted: [&[u8]; 1] = [br#"for="198.51.100.8", for="10.0.0.9""#];
    assert_eq!(
        p.client(ip("10.0.0.1"), quoted, NONE).ip(),
        ip("198.51.100.8")
    );
}

#[test]
fn a_server_trusts_no_proxy_until_told() {
    assert!(TrustedProxies::none().is_empty());
    assert_eq!(TrustedProxies::none(), TrustedProxies::default());
    assert!(!proxies(&["10.0.0.0/8"]).is_empty());
    assert!(!TrustedProxies::none().contains(ip("127.0.0.1")));
}

#[test]
fn ipv6_clients_are_keyed_by_their_64() {
    let a = ClientAddr::new(ip("2001:db8:1:2:aaaa::1"));
    let b = ClientAddr::new(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    let c = ClientAddr::new(ip("2001:db8:1:3::1"));
    assert_eq!(a.key(), "client:2001:db8:1:2::/64");
    assert_eq!(a.key(), b.key());
    assert_ne!(a.key(), c.key());
    assert_eq!(ClientAddr::new(ip("192.0.2.1")).key(), "client:192.0.2.1");
    assert_eq!(
        ClientAddr::new(ip("2001:db8::1")).to_string(),
        "2001:db8::1"
    );
    assert_eq!(
        ClientAddr::new(ip("::ffff:192.0.2.1")).to_string(),
        "192.0.2.1"
    );
    let ported: [&[u8]; 1] = [b"[2001:db8::7]:443"];
    let p = proxies(&["10.0.0.0/8"]);
    assert_eq!(
        p.client(ip("10.0.0.1"), NONE, ported).ip(),
        ip("2001:db8::7")
    );
    assert_eq!(
        ClientAddr::new(ip("::ffff:192.0.2.1")).key(),
        "client:192.0.2.1"
    );
}

fn v4() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 4]>().prop_map(IpAddr::from)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Behind trusted proxies, whatever a client puts in front of the list, the
    /// client found is the address the first trusted proxy appended: a client cannot
    /// choose the key it is throttled by.
    #[test]
    fn a_client_cannot_choose_its_address(
        prefix in prop::collection::vec(prop_oneof![
            v4().prop_map(|ip| ip.to_string()),
            "[ -~]{0,20}",
        ], 0..4),
        real in v4(),
        inner_hops in 0usize..3,
        use_forwarded in any::<bool>(),
    ) {
        let p = proxies(&["10.0.0.0/8"]);
        prop_assume!(!p.contains(real));
        let mut list = prefix.join(", ");
        let hops: Vec<String> = (0..inner_hops).map(|i| format!("10.9.0.{i}")).collect();
        let tail = std::iter::once(real.to_string()).chain(hops).collect::<Vec<_>>();
        let line = if use_forwarded {
            list.push_str(", ");
            list.push_str(&tail.iter().map(|h| format!("for={h}")).collect::<Vec<_>>().join(", "));
            list
        } else {
            list.push_str(", ");
            list.push_str(&tail.join(", "));
            list
        };
        let lines: [&[u8]; 1] = [line.as_bytes()];
        let found = if use_forwarded {
            p.client(ip("10.0.0.1"), lines, NONE)
        } else {
            p.client(ip("10.0.0.1"), NONE, lines)
        };
        prop_assert_eq!(found.ip(), real);
    }

    /// Any bytes from an untrusted peer: the peer. Any bytes from a trusted one:
    /// no panic, and an address from the header or the peer itself.
    #[test]
    fn any_header_bytes_are_safe(
        fwd in prop::collection::vec(any::<Vec<u8>>(), 0..3),
        xff in prop::collection::vec(any::<Vec<u8>>(), 0..3),
        peer in v4(),
    ) {
        let f: Vec<&[u8]> = fwd.iter().map(Vec::as_slice).collect();
        let x: Vec<&[u8]> = xff.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(TrustedProxies::none().client(peer, f.clone(), x.clone()).ip(), peer);
        let all = proxies(&["0.0.0.0/0"]);
        let _ = all.client(peer, f, x);
    }

    /// A block parsed from its own display is itself, and holds its own address.
    #[test]
    fn blocks_round_trip(addr in any::<u128>(), prefix in 0u8..=128, v6 in any::<bool>()) {
        let (ip, width) = if v6 {
            (IpAddr::V6(addr.into()), 128u8)
        } else {
            (IpAddr::V4((addr as u32).into()), 32u8)
        };
        let prefix = prefix.min(width);
        let host = u32::from(width - prefix);
        let value = if v6 { addr } else { u128::from(addr as u32) };
        let net = value & !(1u128.checked_shl(host).map_or(u128::MAX, |b| b - 1));
        let net_ip = if v6 { IpAddr::V6(net.into()) } else { IpAddr::V4((net as u32).into()) };
        let block = Cidr::new(net_ip, prefix).unwrap();
        prop_assert_eq!(block.to_string().parse::<Cidr>().unwrap(), block);
        prop_assert!(block.contains(ip));
    }
}

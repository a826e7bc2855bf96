#!/usr/bin/env python3
"""Reads criterion's results (target/criterion) and prints the tables of
docs/performance.md: each median, and its ratio to the peers measured in the same run.
Every table has three columns: what is measured, pw-auth's median, and the peers
measured in the same run (or a dash)."""
import json, os, sys

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"

def median(group, fn, param):
    path = os.path.join(root, group, fn, str(param), "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]

def ns(x):
    if x >= 1_000_000:
        return f"{x / 1_000_000:.1f} ms"
    return f"{x / 1000:.2f} µs" if x >= 1000 else f"{x:.1f} ns"

def table(title):
    print()
    print(f"| {title} | pw-auth median | peers (same run) |")
    print("|---|---|---|")

def row(label, group, fn, param, peers=()):
    ours = median(group, fn, param)
    notes = []
    for name, (pg, pf, pp) in peers:
        theirs = median(pg, pf, pp)
        if theirs >= ours:
            notes.append(f"{name}: {ns(theirs)} (**{theirs / ours:,.1f}× slower**)")
        else:
            notes.append(f"{name}: {ns(theirs)} ({ours / theirs:.1f}× faster than pw-auth)")
    print(f"| {label} | {ns(ours)} | {'; '.join(notes) if notes else '—'} |")

A = "authorize"
table("decision")
row("allow (API key, `flows.deploy`)", A, "pw-auth", "allow",
    [("cedar, grouped", (A, "cedar-grouped", "allow")), ("cedar, per action", (A, "cedar", "allow")), ("casbin", (A, "casbin", "allow"))])
row("deny (API key, `blueprints.publish`)", A, "pw-auth", "deny",
    [("cedar, grouped", (A, "cedar-grouped", "deny")), ("cedar, per action", (A, "cedar", "deny")), ("casbin", (A, "casbin", "deny"))])
row("allow, action looked up once (`Request::for_action`)", A, "pw-auth", "allow-handle")
row("deny, action looked up once", A, "pw-auth", "deny-handle")
row("deny by tier (manager, standard, `scripts.create`)", A, "pw-auth", "deny-tier")
row("allow by grant (linked company)", A, "pw-auth", "allow-by-grant")
row("of a decision, the action lookup alone (`flows.deploy`)", "authorize-breakdown", "pw-auth", "action-lookup")

table("scaling")
for f in (1, 10, 100):
    row(f"policy {f}× the default ({53 * f} actions)", "authorize-scaling", "policy-size", f)
for n in (1, 10, 100):
    row(f"{n} grants held", "authorize-scaling", "grants", n)

H = "authorization-header"
table("`Authorization` parsing")
row("200-byte bearer, borrowed (`parse_authorization_ref`)", H, "pw-auth-ref", "bearer-200", [("headers", (H, "headers", "bearer-200"))])
row("200-byte bearer, owned (`parse_authorization`)", H, "pw-auth", "bearer-200", [("headers", (H, "headers", "bearer-200"))])
row("1000-byte bearer, borrowed", H, "pw-auth-ref", "bearer-1000", [("headers", (H, "headers", "bearer-1000"))])
row("1000-byte bearer, owned", H, "pw-auth", "bearer-1000", [("headers", (H, "headers", "bearer-1000"))])
row("minted API key (44 bytes, CRC-32), borrowed", H, "pw-auth-ref", "minted-key-44")
row("minted API key, owned", H, "pw-auth", "minted-key-44")
row("API key minted before the CRC-32 (45 bytes, SHA-256 checksum), borrowed", H, "pw-auth-ref", "legacy-key-45")
row("opaque 40-byte API key, owned", H, "pw-auth", "api-key-40")
row("malformed (`Bearer abc def`)", H, "pw-auth", "malformed")

table("`Authorization` breakdown")
row("`AccessToken::new` on 193 bytes (validation and zeroizing copy)", H, "breakdown", "access-token-new-193")
row("of which the zeroizing copy", H, "breakdown", "zeroizing-copy-193")
row("a plain copy of the same bytes", H, "breakdown", "plain-copy-193")
row("checking a minted key alone (`ApiKeyRef::new`: visible ASCII, shape, CRC-32)", H, "breakdown", "api-key-ref-new-44")
row("digest of a minted key (one SHA-256 block)", H, "breakdown", "digest-minted-key-44")
row("digest of a key minted before (two blocks)", H, "breakdown", "digest-legacy-key-45")

W = "www-authenticate"
table("`WWW-Authenticate` parsing")
row("RFC 6750 §3 example, borrowed (`parse_challenges_ref`)", W, "pw-auth-ref", "rfc6750-example", [("http-auth", (W, "http-auth", "rfc6750-example"))])
row("RFC 6750 §3 example, owned (`parse_challenges`)", W, "pw-auth", "rfc6750-example", [("http-auth", (W, "http-auth", "rfc6750-example"))])
row("three challenges (RFC 9110 §11.6.1 and RFC 6750), borrowed", W, "pw-auth-ref", "three-challenges", [("http-auth", (W, "http-auth", "three-challenges"))])
row("three challenges, owned", W, "pw-auth", "three-challenges", [("http-auth", (W, "http-auth", "three-challenges"))])

table("server path")
row("`ServerFlow::serve`, allowed API-key request (charged, outcome and audit record built)", "server-flow", "pw-auth", "allow")
row("`ServerFlow::serve`, denied, with its 403 outcome", "server-flow", "pw-auth", "deny-403")
row("header → parse → digest → authenticate → authorize (200), no budget or audit", "server-path", "pw-auth", "allow")
row("the same, denied, with the 403 outcome built", "server-path", "pw-auth", "deny-403")
row("of which: the key's SHA-256 digest", "server-path", "pw-auth", "key-digest-only")
row("of which: parsing the key's header (borrowed)", "server-path", "breakdown", "parse-api-key-header")
row("authentication from an owned key: its digest, two map lookups, the principal", "server-path", "breakdown", "authenticate")
row("cloning a principal", "server-path", "breakdown", "principal-clone")

table("compiling policies")
row("1 MB of custom roles (≈ 3,300 roles)", "policy_compile", "custom_roles", "1MB")
row("2 MB of custom roles (≈ 6,600 roles)", "policy_compile", "custom_roles", "2MB")

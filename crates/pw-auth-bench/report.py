#!/usr/bin/env python3
"""Reads criterion's results (target/criterion) and prints the tables of
docs/performance.md: each median, and its ratio to the peers measured in the same run."""
import json, os, sys

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"

def median(group, fn, param):
    path = os.path.join(root, group, fn, str(param), "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]

def ns(x):
    return f"{x / 1000:.2f} µs" if x >= 1000 else f"{x:.1f} ns"

rows = []
def row(label, group, fn, param, peers=()):
    ours = median(group, fn, param)
    cells = [label, ns(ours)]
    notes = []
    for pg, pf, pp in peers:
        theirs = median(pg, pf, pp)
        notes.append(f"{pf}: {ns(theirs)} ({theirs / ours:.0f}× slower)" if theirs >= ours else f"{pf}: {ns(theirs)} ({ours / theirs:.1f}× faster than pw-auth)")
    if notes:
        cells.append("; ".join(notes))
    print("| " + " | ".join(cells) + " |")

print("| decision | pw-auth median | peers (same run) |\n|---|---|---|")
row("allow (API key, `flows.deploy`)", "authorize", "pw-auth", "allow", [("authorize", "cedar", "allow"), ("authorize", "casbin", "allow")])
row("deny (API key, `blueprints.publish`)", "authorize", "pw-auth", "deny", [("authorize", "cedar", "deny"), ("authorize", "casbin", "deny")])
row("deny by tier (manager, standard, `scripts.create`)", "authorize", "pw-auth", "deny-tier")
row("allow by grant (linked company)", "authorize", "pw-auth", "allow-by-grant")
print()
print("| scaling | pw-auth median |\n|---|---|")
for f in (1, 10, 100):
    row(f"policy {f}× the default ({53 * f} actions)", "authorize-scaling", "policy-size", f)
for n in (1, 10, 100):
    row(f"{n} grants held", "authorize-scaling", "grants", n)
print()
print("| parsing | pw-auth median | peers (same run) |\n|---|---|---|")
row("`Authorization`: 40-byte API key", "authorization-header", "pw-auth", "api-key-40")
row("`Authorization`: 200-byte bearer", "authorization-header", "pw-auth", "bearer-200", [("authorization-header", "headers", "bearer-200")])
row("`Authorization`: 1000-byte bearer", "authorization-header", "pw-auth", "bearer-1000", [("authorization-header", "headers", "bearer-1000")])
row("`Authorization`: malformed", "authorization-header", "pw-auth", "malformed")
row("`WWW-Authenticate`: three challenges", "www-authenticate", "pw-auth", "three-challenges", [("www-authenticate", "http-auth", "three-challenges")])
print()
print("| server path | pw-auth median |\n|---|---|")
row("header → parse → digest lookup → authenticate → authorize (200)", "server-path", "pw-auth", "allow")
row("the same, denied, with the 403 outcome built", "server-path", "pw-auth", "deny-403")
row("of which: the key's SHA-256 digest", "server-path", "pw-auth", "key-digest-only")

"""A widely used Python OAuth 2.0 client, authlib (its requests integration),
against the reference server on loopback: a token by client credentials (HTTP
Basic, and in the body), a protected route called with it, the token introspected
(RFC 7662), revoked (RFC 7009) and then refused, and a wrong secret refused with
invalid_client. Run by oauth_python.rs with the server's base URL; prints "ok"."""

import os
import sys

# The test server speaks http on loopback; authlib refuses it unless told.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

from authlib.integrations.base_client import OAuthError  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402

base = sys.argv[1].rstrip("/")
TOKEN, REVOKE, INTROSPECT = (base + p for p in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"))


def session(user, password, method):
    return OAuth2Session(user, password, token_endpoint_auth_method=method)


def check(condition, what):
    if not condition:
        sys.exit(f"failed: {what}")


for method in ("client_secret_basic", "client_secret_post"):
    ann = session("ann@acme.example", "ann-demo-password", method)
    token = ann.fetch_token(TOKEN, grant_type="client_credentials")
    check(token["token_type"] == "Bearer", f"{method}: token_type {token['token_type']}")
    check(token["expires_in"] == 86400, f"{method}: expires_in {token['expires_in']}")
    flows = ann.get(base + "/fabric/api/flows")
    check(flows.status_code == 200, f"{method}: flows {flows.status_code}")

    seen = ann.introspect_token(INTROSPECT, token=token["access_token"]).json()
    check(seen["active"] is True, f"{method}: introspected {seen}")
    check((seen["sub"], seen["company"], seen["role"]) == ("ann", "acme", "administrator"), f"{seen}")
    check(seen["exp"] - seen["iat"] == 86400, f"{seen}")

    revoked = ann.revoke_token(REVOKE, token=token["access_token"], token_type_hint="access_token")
    check(revoked.status_code == 200, f"{method}: revoke {revoked.status_code}")
    after = ann.get(base + "/fabric/api/flows")
    check(after.status_code == 401, f"{method}: flows after revocation {after.status_code}")
    check("Bearer" in after.headers.get("WWW-Authenticate", ""), f"{after.headers}")
    seen = ann.introspect_token(INTROSPECT, token=token["access_token"]).json()
    check(seen == {"active": False}, f"{method}: introspected after revocation {seen}")

try:
    session("ann@acme.example", "not-her-password", "client_secret_basic").fetch_token(
        TOKEN, grant_type="client_credentials"
    )
    sys.exit("failed: a wrong secret got a token")
except OAuthError as e:
    check(e.error == "invalid_client", f"wrong secret: {e.error}")

print("ok")

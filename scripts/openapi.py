#!/usr/bin/env python3
"""Writes the reference server's OpenAPI 3.1 document to standard output:
`python3 scripts/openapi.py > docs/openapi.json`. The document is kept in the
repository and served at /openapi.json; this script is where it is edited (its
shared schemas and responses written once). A test in pw-auth-server
(tests/server/openapi.rs) checks that the two agree, that the document names every
route the server declares and no other, and runs schemathesis against a server."""
import json
J = "application/json"

def ref(name): return {"$ref": f"#/components/{name}"}

msg = {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}
schemas = {
  "Message": msg,
  "Validation": {"type": "object", "required": ["message", "errors"], "properties": {
      "message": {"type": "string"},
      "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}}},
  "Forbidden": {"type": "object", "required": ["message"], "properties": {
      "message": {"type": "string"},
      "reason": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}},
                 "description": "the decision's reason, as in docs/audit-schema.json (absent when no decision was made: the forward-auth endpoint's unmapped route)"}}},
  "OAuthError": {"type": "object", "required": ["error"], "properties": {
      "error": {"type": "string", "enum": ["invalid_request", "invalid_client", "unsupported_grant_type", "temporarily_unavailable"]},
      "error_description": {"type": "string"}}},
  "Quota": {"type": "object", "required": ["limit", "period_secs"], "properties": {
      "limit": {"type": "integer", "minimum": 1, "maximum": 4294967295},
      "period_secs": {"type": "integer", "minimum": 1, "maximum": 86400},
      "burst": {"type": "integer", "minimum": 1, "maximum": 4294967295}}},
  "Scope": {"type": "object", "properties": {
      "actions": {"type": "array", "items": {"type": "string"}},
      "view": {"type": "array", "items": {"type": "string"}},
      "edit": {"type": "array", "items": {"type": "string"}}}},
  "ApiKey": {"type": "object", "required": ["id", "label", "company", "user", "created_at", "revoked_at", "expires_at", "retires_at", "scope", "quota"],
      "properties": {
        "id": {"type": "string"}, "label": {"type": "string"}, "company": {"type": "string"}, "user": {"type": "string"},
        "created_at": {"type": "string"},
        "revoked_at": {"type": ["string", "null"]}, "expires_at": {"type": ["string", "null"]},
        "retires_at": {"type": ["string", "null"]},
        "scope": {"oneOf": [{"$ref": "#/components/schemas/Scope"}, {"type": "null"}]},
        "quota": {"oneOf": [{"$ref": "#/components/schemas/Quota"}, {"type": "null"}]},
        "last_used_at": {"type": ["string", "null"]}}},
  "CreatedApiKey": {"allOf": [{"$ref": "#/components/schemas/ApiKey"}, {"type": "object", "required": ["key"], "properties": {
      "key": {"type": "string", "description": "the key itself, shown this once"},
      "replaces": {"type": "string"}, "replaced_key_retires_at": {"type": "string"}}}]},
  "User": {"type": "object", "required": ["id", "username", "role", "status"], "properties": {
      "id": {"type": "string"}, "username": {"type": ["string", "null"]},
      "role": {"type": "string", "enum": ["administrator", "manager", "user", "read-only", "api-user"]},
      "status": {"type": "string", "enum": ["active", "disabled"]},
      "custom_role": {"type": ["string", "null"], "description": "the custom role the user acts under, if any"}}},
  "CustomRole": {"type": "object", "required": ["name", "view", "edit", "defined_by"], "properties": {
      "name": {"type": "string"}, "view": {"type": "array", "items": {"type": "string"}},
      "edit": {"type": "array", "items": {"type": "string"}},
      "defined_by": {"type": "string", "enum": ["company", "policy"]}}},
  "Status": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["ok", "ready", "unavailable"]}}},
}

def hdr(desc, schema=None): return {"description": desc, "schema": schema or {"type": "string"}}
limit_headers = {
  "RateLimit-Policy": hdr("the company's quota, and the API key's own if it has one (draft-ietf-httpapi-ratelimit-headers)"),
  "RateLimit": hdr("what is left of each policy"),
}
def jresp(desc, schema, headers=None):
    r = {"description": desc, "content": {J: {"schema": schema}}}
    if headers: r["headers"] = headers
    return r

responses = {
  "BadRequest": jresp("several Authorization values, or a malformed X-Company", ref("schemas/Message")),
  "Unauthorized": jresp("no credential, or one refused", ref("schemas/Message"),
      {"WWW-Authenticate": {**hdr("a Bearer challenge (RFC 6750), its error and description saying why"), "required": True}}),
  "Forbidden": jresp("the policy denied the request; the reason says why", ref("schemas/Forbidden"),
      {"WWW-Authenticate": hdr("insufficient_scope (RFC 6750)")}),
  "NotFound": jresp("no such record in the company", ref("schemas/Message")),
  "Conflict": jresp("the record's state does not allow it", ref("schemas/Message")),
  "RequestTimeout": jresp("the body was not sent in time", ref("schemas/Message")),
  "PayloadTooLarge": jresp("the body is larger than the route's cap", ref("schemas/Message")),
  "UnsupportedMediaType": jresp("the body is not application/json", ref("schemas/Message")),
  "Unprocessable": jresp("the body or query is invalid; errors name each field", ref("schemas/Validation")),
  "TooManyRequests": jresp("over a usage limit, or throttled after failures", ref("schemas/Message"),
      {"Retry-After": {**hdr("whole seconds to wait", {"type": "integer"}), "required": True}, **limit_headers}),
  "Unavailable": jresp("a store failed or is busy: refused, never let through", ref("schemas/Message")),
}

guarded_security = [{"apiKey": []}, {"bearer": []}]
company_header = {"name": "X-Company", "in": "header", "required": False,
                  "description": "a linked company to act in (with a grant; never with an API key)",
                  "schema": {"type": "string"}}
id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}

def guarded(action, summary, ok, extra=(), body=None, params=()):
    op = {"summary": summary, "description": f"Requires the policy action `{action}`.",
          "security": guarded_security, "parameters": [company_header, *params], "responses": {}}
    op["responses"].update(ok)
    for code, name in [("400", "BadRequest"), ("401", "Unauthorized"), ("403", "Forbidden"),
                       ("429", "TooManyRequests"), ("503", "Unavailable"), *extra]:
        op["responses"][code] = ref(f"responses/{name}")
    if body is not None:
        op["requestBody"] = {"required": True, "content": {J: {"schema": body}}}
    return op

def ok(code, desc, schema):
    return {code: jresp(desc, schema, limit_headers)}

body_errors = [("408", "RequestTimeout"), ("413", "PayloadTooLarge"), ("415", "UnsupportedMediaType"), ("422", "Unprocessable")]
key_list = {"type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": ref("schemas/ApiKey")}}}
user_list = {"type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": ref("schemas/User")}}}
done = {"type": "object", "required": ["message", "id"], "properties": {"message": {"type": "string"}, "id": {"type": "string"}}}
new_user = {"type": "object", "required": ["id", "username", "password"], "properties": {
    "id": {"type": "string"}, "username": {"type": "string"}, "password": {"type": "string"},
    "role": {"type": "string", "enum": ["user", "read-only"]}}}
new_manager = {"type": "object", "required": ["id", "username", "password"], "properties": {
    "id": {"type": "string"}, "username": {"type": "string"}, "password": {"type": "string"}}}
new_key = {"type": "object", "required": ["label"], "properties": {
    "label": {"type": "string"}, "expires_in_days": {"type": "integer", "minimum": 1, "maximum": 730},
    "scope": ref("schemas/Scope"), "quota": ref("schemas/Quota")}}

paths = {}
paths["/fabric/api/login"] = {"post": {
    "summary": "The platform's login: a bearer token for a username and password", "security": [],
    "requestBody": {"required": True, "content": {J: {"schema": {"type": "object", "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}},
    "responses": {
      "200": jresp("a token", {"type": "object", "required": ["message", "token", "expires_in"], "properties": {
          "message": {"type": "string"}, "token": {"type": "string"}, "expires_in": {"type": "integer"}}}),
      "401": jresp("the credentials are not accepted (one message for every reason)", ref("schemas/Message"),
          {"WWW-Authenticate": hdr("a Bearer challenge")}),
      "408": ref("responses/RequestTimeout"), "413": ref("responses/PayloadTooLarge"),
      "415": ref("responses/UnsupportedMediaType"), "422": ref("responses/Unprocessable"),
      "429": ref("responses/TooManyRequests"), "503": ref("responses/Unavailable")}}}
paths["/fabric/api/logout"] = {"post": guarded("company.view", "Revokes the bearer token it is sent with",
    {"204": {"description": "revoked"}, "422": ref("responses/Unprocessable")})}
paths["/oauth/token"] = {"post": {
    "summary": "OAuth 2.0 token endpoint, client credentials grant (RFC 6749 §4.4); the client is the user's username and password",
    "security": [{"basic": []}, {}],
    "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["grant_type"], "properties": {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "client_id": {"type": "string"}, "client_secret": {"type": "string"}}}}}},
    "responses": {
      "200": jresp("an access token", {"type": "object", "required": ["access_token", "token_type", "expires_in"], "properties": {
          "access_token": {"type": "string"}, "token_type": {"type": "string", "enum": ["Bearer"]},
          "expires_in": {"type": "integer"}}}),
      "400": jresp("RFC 6749 §5.2", ref("schemas/OAuthError")),
      "401": jresp("invalid_client", ref("schemas/OAuthError"), {"WWW-Authenticate": hdr("a Basic challenge")}),
      "408": ref("responses/RequestTimeout"), "413": ref("responses/PayloadTooLarge"),
      "429": jresp("throttled after failures", ref("schemas/OAuthError"), {"Retry-After": hdr("whole seconds", {"type": "integer"})}),
      "503": ref("responses/Unavailable")}}}
client_errors = {
      "400": jresp("RFC 6749 §5.2: invalid_request", ref("schemas/OAuthError")),
      "401": jresp("invalid_client", ref("schemas/OAuthError"), {"WWW-Authenticate": hdr("a Basic challenge")}),
      "408": ref("responses/RequestTimeout"), "413": ref("responses/PayloadTooLarge"),
      "429": jresp("throttled after failures", ref("schemas/OAuthError"), {"Retry-After": hdr("whole seconds", {"type": "integer"})}),
      "503": ref("responses/Unavailable")}
token_form = {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["token"], "properties": {
        "token": {"type": "string"}, "token_type_hint": {"type": "string"},
        "client_id": {"type": "string"}, "client_secret": {"type": "string"}}}}}}
paths["/oauth/revoke"] = {"post": {
    "summary": "OAuth 2.0 token revocation (RFC 7009): the client's own token; any other token is left alone, answered 200 alike",
    "security": [{"basic": []}, {}], "requestBody": token_form,
    "responses": {"200": {"description": "revoked, or nothing to revoke"}, **client_errors}}}
paths["/oauth/introspect"] = {"post": {
    "summary": "OAuth 2.0 token introspection (RFC 7662): the client's own tokens, and its company's at manager level; any other is inactive",
    "security": [{"basic": []}, {}], "requestBody": token_form,
    "responses": {"200": jresp("whether the token is active, and if so whose", {"type": "object", "required": ["active"], "properties": {
        "active": {"type": "boolean"}, "token_type": {"type": "string", "enum": ["Bearer"]},
        "sub": {"type": "string"}, "client_id": {"type": "string"},
        "iat": {"type": "integer"}, "exp": {"type": "integer"},
        "company": {"type": "string"}, "role": {"type": "string"}}}), **client_errors}}}
paths["/.well-known/oauth-authorization-server"] = {"get": {
    "summary": "Authorization server metadata (RFC 8414)", "security": [],
    "responses": {"200": jresp("the metadata", {"type": "object", "required": ["issuer", "token_endpoint"]})}}}
paths["/fabric/api/api-keys"] = {
    "get": guarded("api-keys.list", "The company's API keys (never a key or its digest)", ok("200", "the keys", key_list)),
    "post": guarded("api-keys.create", "Creates an API key, shown once", ok("201", "the new key", ref("schemas/CreatedApiKey")),
                    body_errors, new_key)}
paths["/fabric/api/api-keys/{id}/rotate"] = {"post": guarded("api-keys.create",
    "Rotates a key: a successor for the same api-user; the old key retires after the grace period",
    ok("201", "the successor, shown once", ref("schemas/CreatedApiKey")),
    [("404", "NotFound"), ("408", "RequestTimeout"), ("409", "Conflict"), ("413", "PayloadTooLarge"), ("422", "Unprocessable")],
    None, [id_param])}
paths["/fabric/api/api-keys/{id}/rotate"]["post"]["requestBody"] = {"required": False, "content": {J: {"schema": {
    "type": "object", "properties": {"grace_secs": {"type": "integer", "minimum": 0, "maximum": 2592000}}}}}}
paths["/fabric/api/api-keys/{id}/revoke"] = {"post": guarded("api-keys.revoke", "Revokes a key",
    ok("200", "revoked", ref("schemas/Message")), [("404", "NotFound"), ("409", "Conflict")], None, [id_param])}
paths["/fabric/api/api-keys/{id}"] = {"delete": guarded("api-keys.delete", "Deletes a key",
    {"204": {"description": "deleted", "headers": limit_headers}}, [("404", "NotFound")], None, [id_param])}
q = lambda n, d, s: {"name": n, "in": "query", "required": False, "description": d, "schema": s}
paths["/fabric/api/audit-logs"] = {"get": guarded("audit-logs.view", "The company's audit log, newest first, paged",
    ok("200", "a page", {"type": "object", "required": ["data", "next_cursor"], "properties": {
        "data": {"type": "array", "items": {"type": "object", "description": "an audit record (docs/audit-schema.json)"}},
        "next_cursor": {"type": ["string", "null"]}}}),
    [("422", "Unprocessable")], None,
    [q("limit", "records a page, 1 to 200", {"type": "integer", "minimum": 1, "maximum": 200}),
     q("cursor", "the next_cursor of the previous page", {"type": "string"}),
     q("since", "RFC 3339", {"type": "string"}), q("until", "RFC 3339", {"type": "string"}),
     q("kind", "a reason kind, e.g. role_too_low", {"type": "string"}),
     q("decision_id", "a decision's id", {"type": "string"})])}
paths["/fabric/api/users"] = {
    "get": guarded("users.view", "The company's people", ok("200", "the people", user_list)),
    "post": guarded("users.create-user", "Creates a user or read-only user",
        ok("201", "the new user", ref("schemas/User")), [*body_errors, ("409", "Conflict")], new_user)}
paths["/fabric/api/users/search"] = {"get": guarded("users.search", "The people whose id or username holds q",
    ok("200", "the people", user_list), [("422", "Unprocessable")], None,
    [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}])}
paths["/fabric/api/users/managers"] = {"post": guarded("users.create-manager", "Creates a manager",
    ok("201", "the new manager", ref("schemas/User")), [*body_errors, ("409", "Conflict")], new_manager)}
paths["/fabric/api/users/{id}"] = {"patch": guarded("users.update",
    "Gives a user a new username, password or both, by the platform's role rules (a new password revokes their tokens)",
    ok("200", "the user", ref("schemas/User")), [*body_errors, ("404", "NotFound"), ("409", "Conflict")],
    {"type": "object", "additionalProperties": False, "properties": {
        "username": {"type": "string"}, "password": {"type": "string"}}}, [id_param])}
paths["/fabric/api/users/{id}/role"] = {"post": guarded("users.update", "Changes a user's role by the platform's role rules",
    ok("200", "the user", ref("schemas/User")), [*body_errors, ("404", "NotFound")],
    {"type": "object", "required": ["role"], "properties": {"role": {"type": "string"}}}, [id_param])}
for verb in ["disable", "enable"]:
    paths[f"/fabric/api/users/{{id}}/{verb}"] = {"post": guarded("users.update", f"{verb.capitalize()}s a user",
        ok("200", "the user", ref("schemas/User")), [("404", "NotFound")], None, [id_param])}
company_param = {"name": "company", "in": "path", "required": True, "description": "a company linked to the caller's", "schema": {"type": "string"}}
grant = {"type": "object", "required": ["user", "linked_company", "until"], "properties": {
    "user": {"type": "string"}, "linked_company": {"type": "string"}, "until": {"type": ["string", "null"]}}}
paths["/fabric/api/linked-companies/{company}/grants"] = {"post": guarded("linked-companies.grant",
    "Gives a member of the caller's company (a manager or an administrator) access to a linked company, permanent or until a time",
    ok("200", "the grant", grant), [*body_errors, ("404", "NotFound")],
    {"type": "object", "required": ["user"], "additionalProperties": False, "properties": {
        "user": {"type": "string"}, "until": {"type": "string", "format": "date-time"}}},
    [company_param])}
paths["/fabric/api/linked-companies/{company}/grants/{user}"] = {"delete": guarded("linked-companies.grant",
    "Withdraws a member's access to a linked company: refused there from the next request",
    {"204": {"description": "withdrawn", "headers": limit_headers}}, [("404", "NotFound")], None,
    [company_param, {"name": "user", "in": "path", "required": True, "schema": {"type": "string"}}])}
role_def = {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
    "name": {"type": "string"}, "view": {"type": "array", "items": {"type": "string"}},
    "edit": {"type": "array", "items": {"type": "string"}}}}
name_param = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
paths["/fabric/api/roles"] = {
    "get": guarded("roles.edit", "The company's own custom roles, then the policy's",
        ok("200", "the roles", {"type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": ref("schemas/CustomRole")}}})),
    "post": guarded("roles.create", "Creates one of the company's own custom roles (errors located in the body)",
        ok("201", "the role as kept", ref("schemas/CustomRole")), [*body_errors, ("409", "Conflict")], role_def)}
paths["/fabric/api/roles/{name}"] = {
    "put": guarded("roles.edit", "Replaces a custom role's definition: its holders act under the new one from their next request",
        ok("200", "the role as kept", ref("schemas/CustomRole")), [*body_errors, ("404", "NotFound")], role_def, [name_param]),
    "delete": guarded("roles.edit", "Deletes a custom role nobody holds",
        {"204": {"description": "deleted", "headers": limit_headers}}, [("404", "NotFound"), ("409", "Conflict")], None, [name_param])}
paths["/fabric/api/users/{id}/custom-role"] = {"put": guarded("roles.assign",
    "Assigns a user one of the company's (or the policy's) custom roles, or takes theirs away (null)",
    ok("200", "the user", ref("schemas/User")), [*body_errors, ("404", "NotFound")],
    {"type": "object", "required": ["custom_role"], "additionalProperties": False, "properties": {
        "custom_role": {"type": ["string", "null"]}}}, [id_param])}
paths["/fabric/api/flows"] = {"get": guarded("flows.view", "The company's flows (a demonstration route)",
    ok("200", "the flows", {"type": "object", "required": ["company", "data"]}))}
paths["/fabric/api/flows/{id}/deploy"] = {"post": guarded("flows.deploy", "Deploys a flow (a demonstration route)",
    ok("200", "done", done), [], None, [id_param])}
paths["/fabric/api/blueprints/{id}/publish"] = {"post": guarded("blueprints.publish", "Publishes a blueprint (administrators only; a demonstration route)",
    ok("200", "done", done), [], None, [id_param])}
paths["/fabric/api/scripts"] = {"post": guarded("scripts.create", "Creates a script (tiers with the advanced feature; a demonstration route)",
    ok("201", "created", ref("schemas/Message")))}
authz_ops = {}
for m in ["get", "post", "put", "patch", "delete"]:
    authz_ops[m] = {"summary": "Forward-auth decision for gateways (docs/gateways.md)",
        "description": "The gateway's original method and URI come in X-Original-Method/X-Original-URI or X-Forwarded-Method/X-Forwarded-Uri; mapped to an action by the configured route table (an unmapped route is denied).",
        "security": guarded_security, "parameters": [
            {"name": "X-Original-Method", "in": "header", "required": False, "schema": {"type": "string"}},
            {"name": "X-Original-URI", "in": "header", "required": False, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "allowed; X-Pw-* identity headers for the upstream", "headers": limit_headers},
            "400": ref("responses/BadRequest"), "401": ref("responses/Unauthorized"), "403": ref("responses/Forbidden"),
            "429": ref("responses/TooManyRequests"), "503": ref("responses/Unavailable")}}
paths["/authz"] = authz_ops
paths["/authz/{rest}"] = json.loads(json.dumps(authz_ops))
for m in paths["/authz/{rest}"].values():
    m["parameters"].append({"name": "rest", "in": "path", "required": True, "description": "any path below /authz (a gateway's prefix)", "schema": {"type": "string"}})
paths["/healthz"] = {"get": {"summary": "Alive", "security": [], "responses": {"200": jresp("alive", ref("schemas/Status"))}}}
paths["/readyz"] = {"get": {"summary": "Ready: the records (and Redis) answer", "security": [], "responses": {
    "200": jresp("ready", ref("schemas/Status")), "503": jresp("not ready", ref("schemas/Status"))}}}
paths["/metrics"] = {"get": {"summary": "Prometheus metrics, OpenMetrics text (on the main listener unless --metrics-listen moves them)", "security": [],
    "responses": {"200": {"description": "the metrics", "content": {"application/openmetrics-text": {"schema": {"type": "string"}}}}}}}
paths["/openapi.json"] = {"get": {"summary": "This document", "security": [], "responses": {"200": jresp("the OpenAPI document", {"type": "object"})}}}

doc = {
  "openapi": "3.1.0",
  "info": {"title": "pw-auth reference server", "version": "1",
           "description": "Every route of pw-auth-server: the platform's login and API keys, its people and audit log, the standard OAuth 2.0 token endpoint, the forward-auth decision for gateways, health and metrics, and demonstration routes guarded by the policy. Refusals carry the pw-auth library's bodies and headers; see docs/server.md."},
  "servers": [{"url": "http://127.0.0.1:8080"}],
  "security": guarded_security,
  "paths": paths,
  "components": {"schemas": schemas, "responses": responses, "securitySchemes": {
      "apiKey": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "an API key, sent as the whole Authorization value (the platform's scheme)"},
      "bearer": {"type": "http", "scheme": "bearer", "description": "a token from /fabric/api/login or /oauth/token"},
      "basic": {"type": "http", "scheme": "basic", "description": "OAuth 2.0 client authentication: the username and password, each form-urlencoded (RFC 6749 §2.3.1)"}}},
}
print(json.dumps(doc, indent=2))

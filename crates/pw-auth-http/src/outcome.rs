//! What a server sends for each refusal: status, headers and a JSON body shaped like
//! the platform's `{"message": …}`. Never a secret.

use std::collections::BTreeMap;
use std::time::Duration;

use pw_auth_core::{AuthnFailure, Decision, JointDecision, LimitDecision, Quota, Reason};

use crate::authorization::AuthorizationError;
use crate::bearer::{BearerChallenge, BearerError};
use crate::challenge::ChallengeBuildError;
use crate::login::BodyError;

/// The platform's payload cap: 8 MB (`docs/platform.md` §2).
pub const PLATFORM_MAX_PAYLOAD: usize = 8 * 1024 * 1024;

/// The `error_description` sent for an expired token (RFC 6750 §3's own wording).
pub const EXPIRED_DESCRIPTION: &str = "The access token expired";
/// The `error_description` sent for an API key past its expiry: the key's holder
/// learns to ask for a new key (logging in again would not help).
pub const KEY_EXPIRED_DESCRIPTION: &str = "The API key expired";
/// The `error_description` sent for a rotated API key past its grace period: its
/// holder learns to switch to the successor.
pub const KEY_RETIRED_DESCRIPTION: &str = "The API key was rotated and has retired";
/// The `error_description` sent for any other invalid credential. One sentence for
/// every reason, so that a caller learns nothing about which check failed.
pub const INVALID_DESCRIPTION: &str = "The credentials are invalid";
/// The `error_description` sent for a malformed `Authorization` value.
pub const MALFORMED_DESCRIPTION: &str = "The credentials are malformed";

fn whole_seconds_up(d: Duration) -> u64 {
    let secs = d.as_secs();
    if d.subsec_nanos() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    }
}

/// The `RateLimit-Policy` and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers
/// (as of draft 10), by name: the quota (`q` requests per `w` seconds) and what is
/// left of it (`r` requests, whole again in `t` seconds). Send them on every response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitFields {
    /// The `RateLimit-Policy` value: `"default";q=…;w=…`.
    pub policy: String,
    /// The `RateLimit` value: `"default";r=…;t=…`.
    pub limit: String,
}

impl RateLimitFields {
    /// The `RateLimit-Policy` field's name, as sent (lowercase).
    pub const POLICY: &'static str = "ratelimit-policy";
    /// The `RateLimit` field's name, as sent (lowercase).
    pub const LIMIT: &'static str = "ratelimit";

    /// Both fields as (name, value) pairs, `RateLimit-Policy` first.
    pub fn into_headers(self) -> [(&'static str, String); 2] {
        [
            (RateLimitFields::POLICY, self.policy),
            (RateLimitFields::LIMIT, self.limit),
        ]
    }
}

/// The [`RateLimitFields`] of `decision` under `quota`.
///
/// ```
/// use pw_auth_core::{LimitState, Quota, check_limit};
/// use pw_auth_http::{RateLimitFields, rate_limit_fields};
/// use time::macros::datetime;
/// let (d, _) = check_limit(LimitState::default(), &Quota::DEFAULT, datetime!(2026-11-27 12:00 UTC));
/// let fields = rate_limit_fields(&Quota::DEFAULT, &d);
/// assert_eq!(fields.policy, r#""default";q=240;w=60"#);
/// assert_eq!(fields.limit, r#""default";r=239;t=1"#);
/// assert_eq!(
///     fields.into_headers(),
///     [
///         ("ratelimit-policy", r#""default";q=240;w=60"#.to_owned()),
///         ("ratelimit", r#""default";r=239;t=1"#.to_owned()),
///     ]
/// );
/// ```
pub fn rate_limit_fields(quota: &Quota, decision: &LimitDecision) -> RateLimitFields {
    RateLimitFields::of(&[("default", quota, decision)])
}

/// The [`RateLimitFields`] of a request checked against its company's budget and its
/// API key's own ([`check_joint_limit`](pw_auth_core::check_joint_limit)): both
/// policies, as the draft's lists allow, the company's `"default"` first and the
/// key's `"key"` second.
///
/// ```
/// use pw_auth_core::{LimitState, Quota, check_joint_limit};
/// use pw_auth_http::joint_rate_limit_fields;
/// use time::macros::datetime;
/// let key = Quota::new(60, 60, 10)?;
/// let s = LimitState::default();
/// let (d, _, _) = check_joint_limit(s, &Quota::DEFAULT, s, &key, datetime!(2026-12-07 12:00 UTC));
/// let fields = joint_rate_limit_fields(&Quota::DEFAULT, &key, &d);
/// assert_eq!(fields.policy, r#""default";q=240;w=60, "key";q=60;w=60"#);
/// assert_eq!(fields.limit, r#""default";r=239;t=1, "key";r=9;t=1"#);
/// # Ok::<(), pw_auth_core::QuotaError>(())
/// ```
pub fn joint_rate_limit_fields(
    company: &Quota,
    key: &Quota,
    decision: &JointDecision,
) -> RateLimitFields {
    RateLimitFields::of(&[
        ("default", company, &decision.company),
        ("key", key, &decision.key),
    ])
}

/// One policy's item of a field: its name and two parameters (`q` and `w`, or `r`
/// and `t`).
struct Item<'a> {
    name: &'a str,
    first: (&'static str, u64),
    second: (&'static str, u64),
}

impl Item<'_> {
    /// Its length as written: `"name";a=x;b=y`.
    fn len(&self) -> usize {
        // Two quotes and a semicolon around the name; `a=` and `;b=` are in the
        // parameters' prefixes.
        3usize
            .saturating_add(self.name.len())
            .saturating_add(self.first.0.len())
            .saturating_add(decimal_len(self.first.1))
            .saturating_add(self.second.0.len())
            .saturating_add(decimal_len(self.second.1))
    }

    fn write(&self, s: &mut String) {
        s.push('"');
        s.push_str(self.name);
        s.push_str("\";");
        s.push_str(self.first.0);
        push_decimal(s, self.first.1);
        s.push_str(self.second.0);
        push_decimal(s, self.second.1);
    }
}

/// `items` as one field's list, in a string of exactly its length: an adapter that
/// moves it into its header value (`http`'s `HeaderValue::try_from(String)`) then
/// keeps the string's own buffer rather than allocating beside it.
fn field<'a>(items: impl Iterator<Item = Item<'a>> + Clone) -> String {
    let len = items.clone().enumerate().fold(0usize, |n, (i, item)| {
        // Each item after the first follows a `, `.
        let separator = if i > 0 { 2 } else { 0 };
        n.saturating_add(separator).saturating_add(item.len())
    });
    let mut s = String::with_capacity(len);
    for (i, item) in items.enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        item.write(&mut s);
    }
    s
}

/// One quota's policy as checked: its name in the fields, the quota, the decision.
type Checked<'a> = (&'a str, &'a Quota, &'a LimitDecision);

impl RateLimitFields {
    /// The fields of `policies`, listed in this order.
    fn of<'a>(policies: &[Checked<'a>]) -> RateLimitFields {
        let policy = |&(name, quota, _): &Checked<'a>| Item {
            name,
            first: ("q=", u64::from(quota.limit())),
            second: (";w=", quota.period_secs()),
        };
        let limit = |&(name, _, decision): &Checked<'a>| {
            let (remaining, reset) = match *decision {
                LimitDecision::Allow {
                    remaining,
                    reset_after,
                } => (remaining, reset_after),
                LimitDecision::Deny { reset_after, .. } => (0, reset_after),
            };
            Item {
                name,
                first: ("r=", u64::from(remaining)),
                second: (";t=", whole_seconds_up(reset)),
            }
        };
        RateLimitFields {
            policy: field(policies.iter().map(policy)),
            limit: field(policies.iter().map(limit)),
        }
    }
}

/// How many digits `n` has in decimal.
fn decimal_len(n: u64) -> usize {
    let mut len = 1usize;
    let mut n = n;
    while n >= 10 {
        n /= 10;
        len = len.saturating_add(1);
    }
    len
}

/// The legacy fields many existing clients read instead of the draft's, as the
/// platform's framework (Laravel) sends them: `X-RateLimit-Limit` (requests a window)
/// and `X-RateLimit-Remaining` on every answer, and on a refusal `X-RateLimit-Reset`
/// too, the Unix time (seconds) at which a request is admitted again (`now` plus the
/// wait, rounded up). Sent beside the draft's fields, never instead of them, when a
/// server asks for them ([`ServerFlow::with_legacy_limit_headers`](crate::ServerFlow::with_legacy_limit_headers)).
///
/// ```
/// use pw_auth_core::{LimitState, Quota, check_limit};
/// use pw_auth_http::legacy_rate_limit_fields;
/// use time::macros::datetime;
/// let now = datetime!(2026-11-27 12:00 UTC);
/// let (d, _) = check_limit(LimitState::default(), &Quota::DEFAULT, now);
/// assert_eq!(
///     legacy_rate_limit_fields(&Quota::DEFAULT, &d, now),
///     [("x-ratelimit-limit", "240".to_owned()), ("x-ratelimit-remaining", "239".to_owned())]
/// );
/// ```
pub fn legacy_rate_limit_fields(
    quota: &Quota,
    decision: &LimitDecision,
    now: time::OffsetDateTime,
) -> Vec<(&'static str, String)> {
    let decimal = |n: u64| {
        let mut s = String::with_capacity(20);
        push_decimal(&mut s, n);
        s
    };
    let mut fields = vec![("x-ratelimit-limit", decimal(u64::from(quota.limit())))];
    match *decision {
        LimitDecision::Allow { remaining, .. } => {
            fields.push(("x-ratelimit-remaining", decimal(u64::from(remaining))));
        }
        LimitDecision::Deny { retry_after, .. } => {
            fields.push(("x-ratelimit-remaining", decimal(0)));
            let wait = i64::try_from(whole_seconds_up(retry_after)).unwrap_or(i64::MAX);
            let at = now.unix_timestamp().saturating_add(wait);
            fields.push(("x-ratelimit-reset", decimal(u64::try_from(at).unwrap_or(0))));
        }
    }
    fields
}

/// Appends `n` in decimal.
fn push_decimal(s: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at = at.saturating_sub(1);
        if let Some(d) = digits.get_mut(at) {
            // `n % 10` is a single digit.
            *d = b'0'.saturating_add((n % 10) as u8);
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits: always UTF-8, appended in one copy.
    if let Some(text) = digits.get(at..).and_then(|d| std::str::from_utf8(d).ok()) {
        s.push_str(text);
    }
}

/// An HTTP response, ready to send: a refusal with its status, headers and JSON body,
/// or (for an allowed request, [`Outcome::is_proceed`]) the 200 status and headers
/// that go with whatever the handler answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    proceed: bool,
}

impl Outcome {
    /// Adds `more` header fields, before the body's type on a refusal (after the
    /// fields that are there).
    pub(crate) fn extend_headers(&mut self, more: Vec<(&'static str, String)>) {
        let at = self
            .headers
            .iter()
            .position(|(name, _)| *name == "content-type")
            .unwrap_or(self.headers.len());
        self.headers.splice(at..at, more);
    }

    /// An allowed request: 200, these headers, and the handler's body.
    pub(crate) fn proceed(headers: Vec<(&'static str, String)>) -> Outcome {
        Outcome {
            status: 200,
            headers,
            body: String::new(),
            proceed: true,
        }
    }

    /// The header fields, taken out of the outcome (its status and body go with it):
    /// for an adapter that moves them onto its own response instead of copying them.
    pub fn into_headers(self) -> Vec<(&'static str, String)> {
        self.headers
    }

    /// Whether the request may proceed to its handler (and this is not a refusal).
    pub fn is_proceed(&self) -> bool {
        self.proceed
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The header fields, names in lowercase.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// A header's value by (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON body.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// A refusal with a JSON body, serialised straight to text (for a
    /// `serde_json::Value`, the same text as its `Display`).
    /// `header` is the refusal's one field besides `content-type`, if it has one.
    fn json(
        status: u16,
        header: Option<(&'static str, String)>,
        body: impl serde::Serialize,
    ) -> Outcome {
        let mut headers = Vec::with_capacity(2);
        headers.extend(header);
        headers.push(("content-type", "application/json".to_owned()));
        Outcome {
            status,
            headers,
            body: to_text(&body),
            proceed: false,
        }
    }
}

/// `body` as JSON text, written into one buffer large enough for every refusal's
/// body this crate makes (so it is not grown, and copied, as it is written).
fn to_text(body: &impl serde::Serialize) -> String {
    let mut text = Vec::with_capacity(512);
    // The bodies are strings, numbers and maps with string keys: serialising them
    // cannot fail, and what serde_json writes is UTF-8.
    match serde_json::to_writer(&mut text, body) {
        Ok(()) => String::from_utf8(text).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Builds the outcomes of one API (one realm).
///
/// ```
/// use pw_auth_core::AuthnFailure;
/// use pw_auth_http::Responder;
/// let r = Responder::new("patchworks")?;
/// let o = r.unauthenticated(AuthnFailure::Missing);
/// assert_eq!(o.status(), 401);
/// assert_eq!(o.header("www-authenticate"), Some(r#"Bearer realm="patchworks""#));
/// # Ok::<(), pw_auth_http::ChallengeBuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Responder {
    realm: BearerChallenge,
    /// The 403's challenge, written once: it is the same for every refusal.
    forbidden_challenge: String,
}

/// The description of every 403's `insufficient_scope` challenge.
const FORBIDDEN_DESCRIPTION: &str = "The credentials may not perform this action";

impl Responder {
    /// A responder whose challenges name `realm`.
    pub fn new(realm: &str) -> Result<Responder, ChallengeBuildError> {
        let realm = BearerChallenge::new().with_realm(realm)?;
        let forbidden_challenge = realm
            .clone()
            .with_error(BearerError::InsufficientScope)
            .with_description(FORBIDDEN_DESCRIPTION)?
            .to_string();
        Ok(Responder {
            realm,
            forbidden_challenge,
        })
    }

    fn challenge(&self, error: Option<(BearerError, &'static str)>) -> (&'static str, String) {
        let c = match error {
            None => self.realm.clone(),
            // The descriptions are constants inside RFC 6750's character set.
            Some((e, d)) => {
                let c = self.realm.clone().with_error(e);
                c.clone().with_description(d).unwrap_or(c)
            }
        };
        ("www-authenticate", c.to_string())
    }

    /// The response to a request that failed authentication. No bearer attempted (no
    /// value, an empty one, or an unsupported scheme such as `Basic`): 401 with a bare
    /// challenge (RFC 6750 §3.1); several values: 400 `invalid_request`; an expired
    /// token: 401 `invalid_token` with "The access token expired", so a client knows
    /// to log in again; an expired or retired API key: 401 `invalid_token` with
    /// "The API key expired" or "The API key was rotated and has retired", so its
    /// holder knows a new key is needed; anything else: 401 `invalid_token` with one
    /// sentence for every reason.
    pub fn unauthenticated(&self, failure: AuthnFailure) -> Outcome {
        let error = match failure {
            AuthnFailure::Missing
            | AuthnFailure::Empty
            | AuthnFailure::UnsupportedScheme { .. } => None,
            AuthnFailure::MultipleValues { .. } => return self.multiple_values(),
            AuthnFailure::Expired { .. } => Some((BearerError::InvalidToken, EXPIRED_DESCRIPTION)),
            AuthnFailure::KeyExpired { .. } => {
                Some((BearerError::InvalidToken, KEY_EXPIRED_DESCRIPTION))
            }
            AuthnFailure::KeyRetired { .. } => {
                Some((BearerError::InvalidToken, KEY_RETIRED_DESCRIPTION))
            }
            AuthnFailure::Malformed => Some((BearerError::InvalidToken, MALFORMED_DESCRIPTION)),
            AuthnFailure::Unknown
            | AuthnFailure::Revoked { .. }
            | AuthnFailure::Deleted
            | AuthnFailure::NotYetValid { .. }
            | AuthnFailure::UserDisabled
            | AuthnFailure::RecordMismatch => {
                Some((BearerError::InvalidToken, INVALID_DESCRIPTION))
            }
        };
        Outcome::json(
            401,
            Some(self.challenge(error)),
            serde_json::json!({"message": "Unauthenticated."}),
        )
    }

    /// The outcome of an `Authorization` value that could not be parsed: 400
    /// `invalid_request` for several values; a bare 401 challenge for an empty value
    /// or an unsupported scheme (RFC 6750 §3.1: no error code); otherwise 401
    /// `invalid_token`.
    pub fn authorization_error(&self, error: &AuthorizationError) -> Outcome {
        self.unauthenticated(error.failure())
    }

    /// 400 `invalid_request` for several `Authorization` values (RFC 6750 §3.1).
    fn multiple_values(&self) -> Outcome {
        Outcome::json(
            400,
            Some(self.challenge(Some((
                BearerError::InvalidRequest,
                "Exactly one Authorization value is allowed",
            )))),
            serde_json::json!({"message": "Exactly one Authorization value is allowed."}),
        )
    }

    /// 403 for a denied decision, with the reason as the message and an
    /// `insufficient_scope` challenge (RFC 6750 §3.1); `None` if it was allowed.
    pub fn forbidden(&self, decision: &Decision) -> Option<Outcome> {
        if decision.is_allowed() {
            return None;
        }
        Some(self.forbidden_outcome(decision))
    }

    /// [`Responder::forbidden`] for a decision known to be a deny.
    pub(crate) fn forbidden_outcome(&self, decision: &Decision) -> Outcome {
        /// The reason's sentence, written into the body as it is serialised (no
        /// `String` of its own).
        struct Message(Reason);
        impl serde::Serialize for Message {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }
        /// `{"message": …, "reason": …}`, serialised straight to text.
        #[derive(serde::Serialize)]
        struct Body {
            message: Message,
            reason: Reason,
        }
        let reason = decision.reason();
        let body = Body {
            message: Message(reason),
            reason,
        };
        Outcome::json(
            403,
            Some(("www-authenticate", self.forbidden_challenge.clone())),
            body,
        )
    }

    /// 401 for a refused login: a bare challenge, and one message for every reason
    /// ([`LOGIN_REFUSED_MESSAGE`](crate::LOGIN_REFUSED_MESSAGE)).
    pub fn login_refused(&self) -> Outcome {
        Outcome::json(
            401,
            Some(self.challenge(None)),
            serde_json::json!({"message": crate::login::LOGIN_REFUSED_MESSAGE}),
        )
    }

    /// 422 for a body that failed validation, in the platform's shape
    /// `{"message": …, "errors": {field: [messages]}}`.
    pub fn unprocessable(&self, error: &BodyError) -> Outcome {
        let mut errors = BTreeMap::new();
        errors.insert(error.field().to_owned(), vec![error.to_string()]);
        self.validation("The given data was invalid.", &errors)
    }

    /// 422 with any set of field errors.
    pub fn validation(&self, message: &str, errors: &BTreeMap<String, Vec<String>>) -> Outcome {
        Outcome::json(
            422,
            None,
            serde_json::json!({"message": message, "errors": errors}),
        )
    }

    /// 400 for a request the server cannot read (a header that is malformed or sent
    /// twice), with `message` as the body's message.
    pub fn bad_request(&self, message: &str) -> Outcome {
        Outcome::json(400, None, serde_json::json!({ "message": message }))
    }

    /// 415 for a body that is not `application/json` where only JSON is read.
    pub fn unsupported_media_type(&self) -> Outcome {
        Outcome::json(
            415,
            None,
            serde_json::json!({"message": "The body must be application/json."}),
        )
    }

    /// 413 for a payload over `cap` bytes, naming the cap (the platform's own is
    /// [`PLATFORM_MAX_PAYLOAD`]; the login endpoint's is smaller).
    pub fn payload_too_large(&self, cap: usize) -> Outcome {
        Outcome::json(
            413,
            None,
            serde_json::json!({"message": format!("The payload is larger than the limit of {cap} bytes.")}),
        )
    }

    /// 429 with `Retry-After` in whole seconds, rounded up (at least 1).
    pub fn too_many_requests(&self, retry_after: Duration) -> Outcome {
        let secs = whole_seconds_up(retry_after).max(1);
        Outcome::json(
            429,
            Some(("retry-after", secs.to_string())),
            serde_json::json!({"message": "Too Many Attempts."}),
        )
    }

    /// 429 for a denied limit check, with `Retry-After` and the rate-limit fields;
    /// `None` if the request was admitted.
    pub fn over_limit(&self, quota: &Quota, decision: &LimitDecision) -> Option<Outcome> {
        let LimitDecision::Deny { retry_after, .. } = *decision else {
            return None;
        };
        Some(self.over_limit_outcome(quota, decision, retry_after))
    }

    /// [`Responder::over_limit`] for a decision known to be a deny.
    pub(crate) fn over_limit_outcome(
        &self,
        quota: &Quota,
        decision: &LimitDecision,
        retry_after: Duration,
    ) -> Outcome {
        self.over_limit_with(rate_limit_fields(quota, decision), retry_after)
    }

    /// 429 with `Retry-After` and the given rate-limit fields.
    pub(crate) fn over_limit_with(
        &self,
        fields: RateLimitFields,
        retry_after: Duration,
    ) -> Outcome {
        let mut o = self.too_many_requests(retry_after);
        // After `Retry-After`, before the body's type: the order the refusal has
        // always been sent in.
        let [policy, limit] = fields.into_headers();
        o.headers.insert(1, limit);
        o.headers.insert(1, policy);
        o
    }
}

#[cfg(test)]
mod tests {
    use super::{decimal_len, push_decimal};
    use super::{joint_rate_limit_fields, rate_limit_fields};
    use pw_auth_core::{JointDecision, LimitDecision, Quota};
    use std::time::Duration;

    fn decimals() -> Vec<u64> {
        let mut cases = vec![0, 1, 9, 10, 99, 100, 239, u64::MAX - 1, u64::MAX];
        cases.extend((0..20).map(|e| 10u64.pow(e)));
        cases.extend((1..20).map(|e| 10u64.pow(e) - 1));
        cases
    }

    #[test]
    fn decimal_len_counts_what_display_writes() {
        for n in decimals() {
            assert_eq!(decimal_len(n), n.to_string().len(), "{n}");
        }
    }

    /// The fields say what `format!` would, in strings of exactly their length (so an
    /// adapter's header value keeps the buffer), for one policy and for two, at every
    /// width of every number.
    #[test]
    fn the_fields_are_written_exactly_and_sized_exactly() {
        let quotas = [
            Quota::DEFAULT,
            Quota::new(1, 1, 1).unwrap(),
            Quota::new(u32::MAX, 86_400, u32::MAX).unwrap(),
        ];
        let mut decisions = Vec::new();
        for n in [0, 9, 10, 4_294_967_295] {
            for t in [
                Duration::ZERO,
                Duration::from_millis(1),
                Duration::from_secs(99_999),
            ] {
                decisions.push(LimitDecision::Allow {
                    remaining: n,
                    reset_after: t,
                });
                decisions.push(LimitDecision::Deny {
                    retry_after: t,
                    reset_after: t,
                });
            }
        }
        let item = |name: &str, q: &Quota, d: &LimitDecision| {
            let (r, t) = match *d {
                LimitDecision::Allow {
                    remaining,
                    reset_after,
                } => (remaining, reset_after),
                LimitDecision::Deny { reset_after, .. } => (0, reset_after),
            };
            let t = t.as_secs() + u64::from(t.subsec_nanos() > 0);
            (
                format!("\"{name}\";q={};w={}", q.limit(), q.period_secs()),
                format!("\"{name}\";r={r};t={t}"),
            )
        };
        for q in &quotas {
            for d in &decisions {
                let f = rate_limit_fields(q, d);
                let (policy, limit) = item("default", q, d);
                assert_eq!((&f.policy, &f.limit), (&policy, &limit));
                assert_eq!(f.policy.capacity(), f.policy.len(), "{}", f.policy);
                assert_eq!(f.limit.capacity(), f.limit.len(), "{}", f.limit);
                for k in &quotas {
                    let joint = JointDecision {
                        company: *d,
                        key: decisions[0],
                    };
                    let f = joint_rate_limit_fields(q, k, &joint);
                    let (kp, kl) = item("key", k, &decisions[0]);
                    assert_eq!(f.policy, format!("{policy}, {kp}"));
                    assert_eq!(f.limit, format!("{limit}, {kl}"));
                    assert_eq!(f.policy.capacity(), f.policy.len(), "{}", f.policy);
                    assert_eq!(f.limit.capacity(), f.limit.len(), "{}", f.limit);
                }
            }
        }
    }

    /// Decimal as the standard library writes it, at every length and both ends.
    #[test]
    fn push_decimal_writes_what_display_writes() {
        for n in decimals() {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }
}

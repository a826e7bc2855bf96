//! What the server flow answers: a request [`Admitted`](Served::Admitted) to its
//! handler, or [`Refused`] with its cause; a login [issued](LoginServed::Issued) or
//! refused. Each is an enum, so that no answer can be built half of one and half of
//! the other.

use std::fmt;
use std::time::Duration;

use pw_auth_core::{
    AuditRecord, AuthnFailure, Decision, DecisionId, LimitDecision, LimitedBy, LoginResult,
    Principal, TokenRecord,
};
use zeroize::Zeroizing;

use crate::login::LoginResponse;
use crate::outcome::Outcome;

/// Everything a server decided about one request: admitted to its handler, or
/// refused. Either way it holds the complete response and the audit record.
#[must_use = "a served request does nothing until its outcome is sent and its audit record kept"]
#[derive(Debug, Clone)]
pub enum Served {
    /// Authenticated, authorised and (when limited) within the budget: run the
    /// handler, adding [`Admission::outcome`]'s headers to its answer.
    Admitted(Admission),
    /// Refused: send [`Refused::outcome`] as it is.
    Refused(Refused),
}

impl Served {
    /// Whether the request may proceed to its handler. Then [`Served::outcome`] is a
    /// 200 whose headers (the `RateLimit` fields, when limited) belong on whatever
    /// the handler answers.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Served::Admitted(_))
    }

    /// The authenticated principal, if authentication succeeded (admitted, or
    /// refused by the policy or the usage limit).
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Served::Admitted(a) => Some(&a.principal),
            Served::Refused(r) => r.cause.principal(),
        }
    }

    /// Why authentication failed, if it did.
    pub fn failure(&self) -> Option<AuthnFailure> {
        match self {
            Served::Refused(r) => match r.cause {
                Cause::Unauthenticated(f) => Some(f),
                _ => None,
            },
            Served::Admitted(_) => None,
        }
    }

    /// The authorisation decision, if the request got that far.
    pub fn decision(&self) -> Option<Decision> {
        match self {
            Served::Admitted(a) => Some(a.decision),
            Served::Refused(r) => match &r.cause {
                Cause::Forbidden { decision, .. } | Cause::OverLimit { decision, .. } => {
                    Some(*decision)
                }
                _ => None,
            },
        }
    }

    /// The company's usage limit's answer, if the request was allowed and limited.
    pub fn limit(&self) -> Option<LimitDecision> {
        match self {
            Served::Admitted(a) => a.limit,
            Served::Refused(r) => match &r.cause {
                Cause::OverLimit { limit, .. } => Some(*limit),
                _ => None,
            },
        }
    }

    /// The API key's own usage limit's answer, if the request was allowed and its
    /// key has a quota of its own.
    pub fn key_limit(&self) -> Option<LimitDecision> {
        match self {
            Served::Admitted(a) => a.key_limit,
            Served::Refused(r) => match &r.cause {
                Cause::OverLimit { key_limit, .. } => *key_limit,
                _ => None,
            },
        }
    }

    /// The response: a refusal to send as it is, or (when admitted) the status and
    /// headers for the handler's answer.
    pub fn outcome(&self) -> &Outcome {
        match self {
            Served::Admitted(a) => &a.outcome,
            Served::Refused(r) => &r.outcome,
        }
    }

    /// The audit record. Never holds a secret.
    pub fn audit(&self) -> &AuditRecord {
        match self {
            Served::Admitted(a) => &a.audit,
            Served::Refused(r) => &r.audit,
        }
    }

    /// Names the client's address in the audit record (the flow never sees it; the
    /// server does).
    pub fn record_client(&mut self, client: std::net::IpAddr) {
        match self {
            Served::Admitted(a) => a.audit.client = Some(client),
            Served::Refused(r) => r.record_client(client),
        }
    }

    /// Gives the audit record its decision's id (the server draws it, and sends it
    /// with the answer too).
    pub fn record_decision_id(&mut self, id: DecisionId) {
        match self {
            Served::Admitted(a) => a.audit.decision_id = Some(id),
            Served::Refused(r) => r.record_decision_id(id),
        }
    }

    /// The reason as a sentence, for people: the decision's, or the refusal's cause.
    pub fn explanation(&self) -> String {
        match self {
            Served::Admitted(a) => a.decision.reason().to_string(),
            Served::Refused(r) => r.cause.to_string(),
        }
    }
}

/// A request admitted to its handler: who, the decision that allowed it, the usage
/// limit's answer when limited, the 200 outcome whose headers go on the handler's
/// answer, and the audit record.
#[derive(Debug, Clone)]
pub struct Admission {
    pub(crate) principal: Principal,
    pub(crate) decision: Decision,
    pub(crate) limit: Option<LimitDecision>,
    pub(crate) key_limit: Option<LimitDecision>,
    pub(crate) outcome: Outcome,
    pub(crate) audit: AuditRecord,
}

impl Admission {
    /// The authenticated principal.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The decision that allowed the request.
    pub fn decision(&self) -> Decision {
        self.decision
    }

    /// The company's usage limit's answer (always an allow), when the request was
    /// limited.
    pub fn limit(&self) -> Option<LimitDecision> {
        self.limit
    }

    /// The API key's own usage limit's answer (always an allow), when its key has a
    /// quota of its own.
    pub fn key_limit(&self) -> Option<LimitDecision> {
        self.key_limit
    }

    /// The 200 outcome: its headers (the `RateLimit` fields, when limited) belong on
    /// the handler's answer.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The audit record.
    pub fn audit(&self) -> &AuditRecord {
        &self.audit
    }

    /// The principal, for the handler, and the headers for its answer.
    pub fn into_parts(self) -> (Principal, Outcome) {
        (self.principal, self.outcome)
    }
}

/// A refused request or login: the response to send, the audit record to keep, and
/// why.
#[derive(Debug, Clone)]
#[must_use = "a refusal does nothing until it is sent and its audit record kept"]
pub struct Refused {
    /// The response.
    pub outcome: Outcome,
    /// The audit record.
    pub audit: AuditRecord,
    /// Why.
    pub cause: Cause,
}

impl Refused {
    /// Names the client's address in the audit record.
    pub fn record_client(&mut self, client: std::net::IpAddr) {
        self.audit.client = Some(client);
    }

    /// Gives the audit record its decision's id.
    pub fn record_decision_id(&mut self, id: DecisionId) {
        self.audit.decision_id = Some(id);
    }

    /// The reason as a sentence, for people.
    pub fn explanation(&self) -> String {
        self.cause.to_string()
    }
}

/// Why a request or a login was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// Authentication failed (400 or 401).
    Unauthenticated(AuthnFailure),
    /// The policy denied the authenticated principal (403).
    Forbidden {
        /// Who asked.
        principal: Principal,
        /// The denial.
        decision: Decision,
    },
    /// Allowed, but the paying company, or the API key within its own quota, is over
    /// its usage limit (429).
    OverLimit {
        /// Who asked.
        principal: Principal,
        /// The allow that the limit overruled.
        decision: Decision,
        /// The company's budget's answer (a deny unless only the key's refused).
        limit: LimitDecision,
        /// The key's own budget's answer, if the key has a quota.
        key_limit: Option<LimitDecision>,
        /// Which budget refused.
        limited_by: LimitedBy,
    },
    /// The client (or, for a login, the username) spent its failure budget (429).
    Throttled {
        /// How long until it may try again.
        retry_after: Duration,
    },
    /// A login refused: its body malformed (413 or 422), or its credentials not
    /// accepted (401, one message for every reason).
    Login(LoginResult),
}

impl Cause {
    /// The authenticated principal, when the refusal came after authentication.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Cause::Forbidden { principal, .. } | Cause::OverLimit { principal, .. } => {
                Some(principal)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Unauthenticated(failure) => write!(f, "unauthenticated: {failure}"),
            Cause::Forbidden { decision, .. } => write!(f, "{}", decision.reason()),
            Cause::OverLimit {
                limited_by: LimitedBy::Company,
                ..
            } => f.write_str("the company is over its usage limit"),
            Cause::OverLimit {
                limited_by: LimitedBy::Key,
                ..
            } => f.write_str("the api key is over its own usage limit"),
            Cause::OverLimit { .. } => {
                f.write_str("the company and the api key are both over their usage limits")
            }
            Cause::Throttled { retry_after } => write!(
                f,
                "too many failed attempts: throttled for {} s",
                retry_after.as_secs().max(1)
            ),
            Cause::Login(LoginResult::MalformedBody) => f.write_str("the login body is malformed"),
            Cause::Login(LoginResult::Throttled) => f.write_str("too many failed logins"),
            Cause::Login(result) => {
                let why = match result {
                    LoginResult::UnknownUser => "no user has that username",
                    LoginResult::WrongPassword => "the password did not match",
                    LoginResult::UserDisabled => "the user is disabled",
                    LoginResult::ApiUser => "an api-user logs in with its key only",
                    _ => "the credentials were not accepted",
                };
                write!(f, "login refused: {why}")
            }
        }
    }
}

/// The result of the login endpoint's second step: a token issued, or a refusal —
/// never both, never neither.
#[must_use = "a login does nothing until its token record is stored and its outcome sent"]
#[derive(Debug)]
pub enum LoginServed {
    /// A token was issued: store [`Issued::record`], then send [`Issued::body`] (200).
    Issued(Box<Issued>),
    /// No token: send the refusal (401, one message for every reason). Its cause,
    /// [`Cause::Login`], and its audit record tell the reasons apart.
    Refused(Box<Refused>),
}

impl LoginServed {
    /// What happened: [`LoginResult::TokenIssued`], or the refusal's
    /// [`Cause::Login`] (a throttled login's is [`LoginResult::Throttled`]). `None`
    /// only for a refusal that is not a login's, which the flow never makes.
    pub fn result(&self) -> Option<LoginResult> {
        match self {
            LoginServed::Issued(_) => Some(LoginResult::TokenIssued),
            LoginServed::Refused(refused) => match refused.cause {
                Cause::Login(result) => Some(result),
                Cause::Throttled { .. } => Some(LoginResult::Throttled),
                Cause::Unauthenticated(_) | Cause::Forbidden { .. } | Cause::OverLimit { .. } => {
                    None
                }
            },
        }
    }

    /// The audit record: the user on success; never the username tried, nor any
    /// secret.
    pub fn audit(&self) -> &AuditRecord {
        match self {
            LoginServed::Issued(issued) => &issued.audit,
            LoginServed::Refused(refused) => &refused.audit,
        }
    }
}

/// A token issued by the login endpoint: the record to store and the answer to send.
#[must_use = "a token does nothing until its record is stored and its answer sent"]
pub struct Issued {
    pub(crate) record: TokenRecord,
    pub(crate) response: LoginResponse,
    pub(crate) audit: AuditRecord,
}

impl Issued {
    /// The token record to store before answering.
    pub fn record(&self) -> &TokenRecord {
        &self.record
    }

    /// The 200 body to send: `{"message", "token", "expires_in"}`. It holds the
    /// token, and is zeroized on drop.
    pub fn body(&self) -> Zeroizing<String> {
        self.response.to_json()
    }

    /// The 200 body of a standard OAuth 2.0 token endpoint instead (RFC 6749 §5.1):
    /// `{"access_token", "expires_in", "token_type": "Bearer"}`. It holds the token,
    /// and is zeroized on drop.
    pub fn oauth_body(&self) -> Zeroizing<String> {
        self.response.to_oauth_json()
    }

    /// The audit record (names the user the token was issued to).
    pub fn audit(&self) -> &AuditRecord {
        &self.audit
    }
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("record", &self.record)
            .field("audit", &self.audit)
            .finish_non_exhaustive()
    }
}

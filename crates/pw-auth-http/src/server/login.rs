//! The login endpoint's two steps: the body parsed, then the token issued or the
//! login refused.

use pw_auth_core::{
    AuditRecord, ExpiresIn, IssuedToken, LoginResult, Lookup, MintError, Role, UserRecord,
    UserStatus, issue_token,
};
use time::OffsetDateTime;

use crate::login::{BodyError, LoginRequest, LoginResponse, MAX_LOGIN_BODY_LEN};
use crate::served::{Cause, Issued, LoginServed, Refused};

use super::ServerFlow;

impl ServerFlow {
    /// The login endpoint, step one: the body, parsed. A body over
    /// [`MAX_LOGIN_BODY_LEN`] is refused with 413 naming that cap; any other bad body
    /// with 422 in the platform's validation shape.
    pub fn login_request(
        &self,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<LoginRequest, Box<Refused>> {
        LoginRequest::parse(body).map_err(|e| {
            Box::new(Refused {
                outcome: match e {
                    BodyError::TooLarge { .. } => {
                        self.responder.payload_too_large(MAX_LOGIN_BODY_LEN)
                    }
                    _ => self.responder.unprocessable(&e),
                },
                audit: AuditRecord::login(&self.policy, LoginResult::MalformedBody, None, now),
                cause: Cause::Login(LoginResult::MalformedBody),
            })
        })
    }

    /// The login endpoint, step two, after the caller looked the user up by the
    /// request's username (`user`) and verified the password against its stored hash
    /// (`password_ok`; verify against a dummy hash when there is no such user, so
    /// both take the same time). Refuses unknown users, wrong passwords, disabled
    /// users and api-users alike (401, one message); otherwise issues a token from
    /// the caller's `random` bytes (16 to 64 from a CSPRNG).
    pub fn login(
        &self,
        user: Option<&UserRecord>,
        password_ok: bool,
        random: &[u8],
        expires_in: ExpiresIn,
        now: OffsetDateTime,
    ) -> Result<LoginServed, MintError> {
        let refused = |result: LoginResult| {
            LoginServed::Refused(Box::new(Refused {
                outcome: self.responder.login_refused(),
                audit: AuditRecord::login(&self.policy, result, None, now),
                cause: Cause::Login(result),
            }))
        };
        let user = match user {
            None => return Ok(refused(LoginResult::UnknownUser)),
            Some(_) if !password_ok => return Ok(refused(LoginResult::WrongPassword)),
            Some(u) if u.status == UserStatus::Disabled => {
                return Ok(refused(LoginResult::UserDisabled));
            }
            Some(u) if u.role == Role::ApiUser => return Ok(refused(LoginResult::ApiUser)),
            Some(u) => u,
        };
        let IssuedToken { token, record, .. } = issue_token(user, random, now, expires_in)?;
        // The fresh token's own principal, for the audit record.
        let principal = self
            .authenticator
            .bearer(&token, Lookup::Found(&record), Some(user), now)
            .map_err(|_| MintError::SelfCheck)?;
        Ok(LoginServed::Issued(Box::new(Issued {
            audit: AuditRecord::login(
                &self.policy,
                LoginResult::TokenIssued,
                Some(&principal),
                now,
            ),
            record,
            response: LoginResponse::new(token, expires_in),
        })))
    }
}

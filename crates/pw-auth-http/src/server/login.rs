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

    /// A client's username and password checked as a login checks them, for an
    /// endpoint that authenticates its caller that way without issuing a token (the
    /// OAuth 2.0 revocation and introspection endpoints): `user` as looked up by the
    /// username, `password_ok` as verified against its hash (or a dummy hash). The
    /// user, or the login's refusal (401, one message for every reason; its audit
    /// record is a login's, naming the reason).
    pub fn authenticate_client<'u>(
        &self,
        user: Option<&'u UserRecord>,
        password_ok: bool,
        now: OffsetDateTime,
    ) -> Result<&'u UserRecord, Box<Refused>> {
        let refused = |result: LoginResult| {
            Box::new(Refused {
                outcome: self.responder.login_refused(),
                audit: AuditRecord::login(&self.policy, result, None, now),
                cause: Cause::Login(result),
            })
        };
        match user {
            None => Err(refused(LoginResult::UnknownUser)),
            Some(_) if !password_ok => Err(refused(LoginResult::WrongPassword)),
            Some(u) if u.status == UserStatus::Disabled => Err(refused(LoginResult::UserDisabled)),
            Some(u) if u.role == Role::ApiUser => Err(refused(LoginResult::ApiUser)),
            Some(u) => Ok(u),
        }
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
        let user = match self.authenticate_client(user, password_ok, now) {
            Ok(u) => u,
            Err(refused) => return Ok(LoginServed::Refused(refused)),
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

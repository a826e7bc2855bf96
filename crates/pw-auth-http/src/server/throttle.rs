//! The failed-attempt throttles: the login's budgets reserved before its password is
//! verified and given back when it issues a token, and failed authentications charged
//! after the fact.

use pw_auth_core::{
    AuditRecord, LimitDecision, LimitState, LoginResult, Quota, Request, check_limit, refund_limit,
};
use time::OffsetDateTime;

use crate::served::{Cause, Refused};

use super::ServerFlow;

/// How many failed attempts are tolerated per client, and per username from one
/// client, before further attempts are refused unread (429 "Too Many Attempts.", with
/// `Retry-After`): 10 a minute, all at once or spread out.
pub const DEFAULT_FAILURE_QUOTA: Quota = match Quota::new(10, 60, 10) {
    Ok(q) => q,
    Err(_) => Quota::DEFAULT,
};

/// How many failed logins one username tolerates across every client before clients
/// that already failed for it are refused (see [`ServerFlow::reserve_login`]): 100 a
/// minute.
pub const DEFAULT_USERNAME_CEILING: Quota = match Quota::new(100, 60, 100) {
    Ok(q) => q,
    Err(_) => Quota::DEFAULT,
};

/// The three failure budgets one login attempt is reserved against
/// ([`ServerFlow::reserve_login`]), as the store keeps them: one per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginBudgets {
    /// The client's (every username it tries).
    pub client: LimitState,
    /// The username's, from this client.
    pub pair: LimitState,
    /// The username's, across every client (the ceiling).
    pub username: LimitState,
}

impl LoginBudgets {
    /// The budgets from the store's states in the order of the login's keys (client,
    /// username from the client, username); `None` unless there are exactly three.
    pub fn from_states(states: &[LimitState]) -> Option<LoginBudgets> {
        match *states {
            [client, pair, username] => Some(LoginBudgets {
                client,
                pair,
                username,
            }),
            _ => None,
        }
    }

    /// Writes the budgets back into the store's states, in the same order.
    pub fn store_into(&self, states: &mut [LimitState]) {
        for (slot, value) in states
            .iter_mut()
            .zip([self.client, self.pair, self.username])
        {
            *slot = value;
        }
    }
}

impl ServerFlow {
    /// The same flow tolerating `quota` failed attempts per client, and per username
    /// from one client, instead of [`DEFAULT_FAILURE_QUOTA`].
    pub fn with_failure_quota(mut self, quota: Quota) -> ServerFlow {
        self.failures = quota;
        self
    }

    /// The same flow allowing `quota` failed logins per username across every client
    /// (a ceiling for attacks spread over many addresses) instead of
    /// [`DEFAULT_USERNAME_CEILING`]; see [`ServerFlow::reserve_login`].
    pub fn with_username_ceiling(mut self, quota: Quota) -> ServerFlow {
        self.username_ceiling = quota;
        self
    }

    /// The wait before `state` admits one more attempt under `quota` at `now`, or
    /// `None` if it admits one now.
    pub(super) fn wait(
        state: LimitState,
        quota: &Quota,
        now: OffsetDateTime,
    ) -> Option<std::time::Duration> {
        match check_limit(state, quota, now).0 {
            LimitDecision::Deny { retry_after, .. } => Some(retry_after),
            LimitDecision::Allow { .. } => None,
        }
    }

    /// Reserves one login attempt before its password is verified, charging it in
    /// advance to the three failure budgets of [`LoginBudgets`]: `None` when it is
    /// reserved (all three charged), or the time to wait when it is refused (nothing
    /// charged; answer [`ServerFlow::login_throttled`]).
    ///
    /// Run it inside the store's atomic update of the three budgets, and verify the
    /// password only after it reserved: then no number of concurrent attempts can
    /// verify more passwords than the quota allows. After a login that issued a token,
    /// give the reservation back with [`ServerFlow::release_login`]; after any other
    /// answer it stays spent, as a failure.
    ///
    /// The rule, so that strangers cannot lock an owner out:
    /// - the client's budget (every username it tries) and the budget of this
    ///   username from this client each allow the failure quota
    ///   ([`DEFAULT_FAILURE_QUOTA`]);
    /// - the username's budget across all clients is a ceiling
    ///   ([`DEFAULT_USERNAME_CEILING`]) that, once spent, refuses every client that
    ///   failed for this username within the last period and one interval (66 s with
    ///   the default quota). A client with a clean record for the username — its owner
    ///   on another address — is still let in while strangers guess, and each address
    ///   an attacker adds buys one guess a period, not a quota's worth.
    pub fn reserve_login(
        &self,
        budgets: &mut LoginBudgets,
        now: OffsetDateTime,
    ) -> Option<std::time::Duration> {
        let LoginBudgets {
            client,
            pair,
            username,
        } = budgets;
        let client_wait = Self::wait(*client, &self.failures, now);
        let pair_wait = Self::wait(*pair, &self.failures, now);
        // Clean: no failure for this username from this client in the last period
        // and one interval, i.e. its budget was already whole a period ago.
        let a_period_ago = i64::try_from(self.failures.period_secs())
            .ok()
            .map(time::Duration::seconds)
            .and_then(|p| now.checked_sub(p));
        let pair_clean =
            a_period_ago.is_some_and(|then| match check_limit(*pair, &self.failures, then).0 {
                LimitDecision::Allow { remaining, .. } => {
                    remaining.saturating_add(1) >= self.failures.burst()
                }
                LimitDecision::Deny { .. } => false,
            });
        let ceiling_wait = Self::wait(*username, &self.username_ceiling, now)
            // Over the ceiling, a client with no failure for the username still gets in.
            .filter(|_| !pair_clean);
        if let Some(wait) = [client_wait, pair_wait, ceiling_wait]
            .into_iter()
            .flatten()
            .max()
        {
            return Some(wait);
        }
        *client = check_limit(*client, &self.failures, now).1;
        *pair = check_limit(*pair, &self.failures, now).1;
        // Charged even when it is over the ceiling (the clean client's attempt): the
        // ceiling's budget then says how long strangers have been guessing.
        let (_, charged) = check_limit(*username, &self.username_ceiling, now);
        *username = charged;
        None
    }

    /// Gives back a reservation of [`ServerFlow::reserve_login`] after a login that
    /// issued a token: a right password is not a failure.
    pub fn release_login(&self, budgets: &mut LoginBudgets, now: OffsetDateTime) {
        budgets.client = refund_limit(budgets.client, &self.failures, now);
        budgets.pair = refund_limit(budgets.pair, &self.failures, now);
        budgets.username = refund_limit(budgets.username, &self.username_ceiling, now);
    }

    /// The refusal of a login that [`ServerFlow::reserve_login`] did not reserve:
    /// 429 "Too Many Attempts." with `Retry-After`, and its audit record.
    pub fn login_throttled(&self, wait: std::time::Duration, now: OffsetDateTime) -> Box<Refused> {
        Box::new(Refused {
            outcome: self.responder.too_many_requests(wait),
            audit: AuditRecord::login(&self.policy, LoginResult::Throttled, None, now),
            cause: Cause::Throttled { retry_after: wait },
        })
    }

    /// After a request failed authentication (a 401 or 400 from
    /// [`ServerFlow::authenticate`]): charges the failure to the client's failure
    /// budget, in the store's atomic update of it. `None` when it was charged (send
    /// the refusal as it is), or the time to wait when the client had already spent
    /// its budget (nothing charged; send [`ServerFlow::auth_throttled`] instead).
    ///
    /// Only failures are charged and only failures are refused: a request with a
    /// valid credential is never throttled by anyone's failures, its own client's
    /// included (so clients sharing an address behind a proxy cannot lock each other
    /// out). The client key is the caller's choice (its address, say); credentials are
    /// never a key.
    pub fn charge_auth_failure(
        &self,
        client: &mut LimitState,
        now: OffsetDateTime,
    ) -> Option<std::time::Duration> {
        let (decision, charged) = check_limit(*client, &self.failures, now);
        *client = charged;
        match decision {
            LimitDecision::Deny { retry_after, .. } => Some(retry_after),
            LimitDecision::Allow { .. } => None,
        }
    }

    /// The refusal of a request whose client spent its failure budget
    /// ([`ServerFlow::charge_auth_failure`]): 429 with `Retry-After`, and its audit
    /// record (which names `request`, when known).
    pub fn auth_throttled(
        &self,
        wait: std::time::Duration,
        request: Option<Request<'_>>,
        now: OffsetDateTime,
    ) -> Box<Refused> {
        let bare = request.map(|r| r.resolved_in(&self.policy).with_grants(&[]));
        Box::new(Refused {
            outcome: self.responder.too_many_requests(wait),
            audit: AuditRecord::throttled(&self.policy, bare.as_ref(), wait, now),
            cause: Cause::Throttled { retry_after: wait },
        })
    }
}

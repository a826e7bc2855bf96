//! What kind of store failure each backend's error is ([`BackendError`]): busy, unreachable,
//! or a record this version cannot read. The error itself is kept as the failure's
//! source, for the log.

use pw_auth_axum::StoreErrorKind;

use super::BackendError;

impl BackendError for rusqlite::Error {
    fn kind(&self) -> StoreErrorKind {
        use rusqlite::ErrorCode as C;
        match self {
            rusqlite::Error::SqliteFailure(e, _) => match e.code {
                C::DatabaseBusy | C::DatabaseLocked => StoreErrorKind::Busy,
                C::DatabaseCorrupt | C::NotADatabase | C::SchemaChanged => StoreErrorKind::Corrupt,
                _ => StoreErrorKind::Unavailable,
            },
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::Utf8Error(..)
            | rusqlite::Error::QueryReturnedNoRows => StoreErrorKind::Corrupt,
            _ => StoreErrorKind::Unavailable,
        }
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

impl BackendError for tokio_postgres::Error {
    fn kind(&self) -> StoreErrorKind {
        use tokio_postgres::error::SqlState;
        match self.code() {
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::LOCK_NOT_AVAILABLE
                    || *c == SqlState::QUERY_CANCELED =>
            {
                StoreErrorKind::Busy
            }
            Some(c) if *c == SqlState::UNDEFINED_TABLE || *c == SqlState::UNDEFINED_COLUMN => {
                StoreErrorKind::Corrupt
            }
            _ => StoreErrorKind::Unavailable,
        }
    }

    fn backend(&self) -> &'static str {
        "postgresql"
    }
}

impl BackendError for deadpool_postgres::PoolError {
    fn kind(&self) -> StoreErrorKind {
        match self {
            deadpool_postgres::PoolError::Backend(e) => e.kind(),
            deadpool_postgres::PoolError::Timeout(_) => StoreErrorKind::Busy,
            _ => StoreErrorKind::Unavailable,
        }
    }

    fn backend(&self) -> &'static str {
        "the postgresql pool"
    }
}

impl BackendError for deadpool_postgres::BuildError {
    fn kind(&self) -> StoreErrorKind {
        StoreErrorKind::Unavailable
    }

    fn backend(&self) -> &'static str {
        "the postgresql pool"
    }
}

impl BackendError for redis::RedisError {
    fn kind(&self) -> StoreErrorKind {
        use redis::ErrorKind as K;
        match self.kind() {
            K::Parse | K::UnexpectedReturnType => StoreErrorKind::Corrupt,
            _ if self.is_timeout() => StoreErrorKind::Busy,
            _ => StoreErrorKind::Unavailable,
        }
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

impl BackendError for std::io::Error {
    fn kind(&self) -> StoreErrorKind {
        match std::io::Error::kind(self) {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => StoreErrorKind::Busy,
            std::io::ErrorKind::InvalidData => StoreErrorKind::Corrupt,
            _ => StoreErrorKind::Unavailable,
        }
    }

    fn backend(&self) -> &'static str {
        "a file or socket"
    }
}

/// A blocking store call that panicked or was cancelled.
impl BackendError for tokio::task::JoinError {
    fn kind(&self) -> StoreErrorKind {
        StoreErrorKind::Internal
    }

    fn backend(&self) -> &'static str {
        "a blocking store call"
    }
}

/// A stored record that does not read back: the data is corrupt or foreign.
macro_rules! corrupt_record {
    ($($t:ty),* $(,)?) => {$(
        impl BackendError for $t {
            fn kind(&self) -> StoreErrorKind {
                StoreErrorKind::Corrupt
            }

            fn backend(&self) -> &'static str {
                "a stored record"
            }
        }
    )*};
}

corrupt_record!(
    serde_json::Error,
    std::num::TryFromIntError,
    pw_auth_core::IdError,
    pw_auth_core::TierError,
);

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    use std::error::Error as _;

    use super::super::err;
    use super::*;

    fn sqlite(code: rusqlite::ErrorCode) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error {
                code,
                extended_code: 0,
            },
            Some("detail".into()),
        )
    }

    #[test]
    fn a_locked_sqlite_is_busy_a_corrupt_file_corrupt_and_the_rest_unavailable() {
        use rusqlite::ErrorCode as C;
        assert_eq!(
            BackendError::kind(&sqlite(C::DatabaseBusy)),
            StoreErrorKind::Busy
        );
        assert_eq!(
            BackendError::kind(&sqlite(C::DatabaseLocked)),
            StoreErrorKind::Busy
        );
        assert_eq!(
            BackendError::kind(&sqlite(C::NotADatabase)),
            StoreErrorKind::Corrupt
        );
        assert_eq!(
            BackendError::kind(&sqlite(C::CannotOpen)),
            StoreErrorKind::Unavailable
        );
        assert_eq!(
            BackendError::kind(&rusqlite::Error::QueryReturnedNoRows),
            StoreErrorKind::Corrupt
        );
    }

    #[test]
    fn the_backends_error_is_kept_as_the_source() {
        let e = err(sqlite(rusqlite::ErrorCode::DatabaseBusy));
        assert_eq!(e.kind(), StoreErrorKind::Busy);
        assert_eq!(e.to_string(), "the record store failed (busy): sqlite");
        let source = e.source().unwrap();
        assert!(
            source.downcast_ref::<rusqlite::Error>().is_some(),
            "{source}"
        );
    }

    #[test]
    fn an_unreadable_record_is_corrupt() {
        let bad = serde_json::from_str::<u8>("x").unwrap_err();
        assert_eq!(err(bad).kind(), StoreErrorKind::Corrupt);
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow");
        assert_eq!(err(io).kind(), StoreErrorKind::Busy);
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "no");
        assert_eq!(err(refused).kind(), StoreErrorKind::Unavailable);
    }
}

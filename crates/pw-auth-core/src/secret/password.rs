//! Passwords: [`Password`] and what it refuses.

use zeroize::Zeroizing;

use super::*;

/// Why a string is not an acceptable password. Never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password is empty.
    #[error("password is empty")]
    Empty,
    /// The password is longer than [`MAX_PASSWORD_LEN`].
    #[error("password is {len} bytes long; the limit is {MAX_PASSWORD_LEN}")]
    TooLong {
        /// The length given.
        len: usize,
    },
}

/// A user's password, as sent to the login endpoint. 1 to 1024 bytes of any text.
/// This crate never checks passwords; the caller verifies them against its store.
#[derive(Clone)]
pub struct Password(pub(super) SecretText);

impl Password {
    /// Validates and wraps a password. The string is zeroized if it is rejected.
    pub fn new(password: String) -> Result<Password, PasswordError> {
        let password = Zeroizing::new(password);
        match password.len() {
            0 => Err(PasswordError::Empty),
            len if len > MAX_PASSWORD_LEN => Err(PasswordError::TooLong { len }),
            _ => Ok(Password(SecretText(password))),
        }
    }

    /// The password itself, for verifying it. Handle with care.
    pub fn expose_secret(&self) -> &str {
        &self.0.0
    }
}

//! The login endpoint's bodies: `POST /fabric/api/login` with
//! `{"username", "password"}`, answered by `{"message", "token", "expires_in"}`.
//!
//! Both are read strictly: a missing, unknown or repeated field, a wrong type or an
//! out-of-range `expires_in` is a [`BodyError`] naming the field, never quoting a
//! value (a password sent as a number would otherwise appear in serde's message).
//! Bodies are read and written by a small RFC 8259 reader (`flat_json`) that decodes
//! each string straight into a wiped-on-drop buffer that never reallocates, so no
//! freed heap block is left holding a password or token.

use pw_auth_core::{AccessToken, ExpiresIn, Lifetime, LifetimeError, Password};
use time::OffsetDateTime;
use zeroize::Zeroizing;

mod flat_json;

use flat_json::{Member, ObjectError, Out, read_object, write_object};

/// The largest login body accepted, in bytes.
pub const MAX_LOGIN_BODY_LEN: usize = 64 * 1024;

/// The body a login is refused with (401): one sentence for every reason, so a caller
/// cannot tell an unknown username from a wrong password.
pub const LOGIN_REFUSED_MESSAGE: &str = "These credentials do not match our records.";
/// The longest username accepted, in characters (an e-mail address).
pub const MAX_USERNAME_CHARS: usize = 254;
/// The message the platform sends with a successful login.
pub const LOGIN_SUCCESS_MESSAGE: &str = "You have successfully logged in.";

/// Why a login body is not acceptable. Maps to 422 (413 when it is too large); never
/// quotes a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is larger than [`MAX_LOGIN_BODY_LEN`].
    #[error("the body is {len} bytes long; the limit is {MAX_LOGIN_BODY_LEN}")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The body is not well-formed JSON.
    #[error("the body is not valid JSON (line {line}, column {column})")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The body is JSON but not an object.
    #[error("the body must be a JSON object")]
    NotAnObject,
    /// A required field is absent.
    #[error("the {field} field is required")]
    Missing {
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong JSON type.
    #[error("the {field} field must be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A field has the right type but an unacceptable value.
    #[error("the {field} field {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why (never the value).
        reason: String,
    },
    /// A field given more than once (JSON parsers disagree on which one counts).
    #[error("the {field} field appears more than once")]
    Duplicate {
        /// The field.
        field: &'static str,
    },
    /// A field this body does not have. The name is not repeated, since it might be
    /// a secret sent in the wrong place.
    #[error("the body has an unknown field ({len} characters long); the fields are {allowed}")]
    UnknownField {
        /// The unknown name's length.
        len: usize,
        /// The fields the body may have.
        allowed: &'static str,
    },
}

impl BodyError {
    /// The field the error is about, for the 422 body's `errors` map; `body` when it
    /// is about the body as a whole.
    pub fn field(&self) -> &'static str {
        match self {
            BodyError::Missing { field }
            | BodyError::Duplicate { field }
            | BodyError::WrongType { field, .. }
            | BodyError::Invalid { field, .. } => field,
            _ => "body",
        }
    }
}

/// What a body's reader does with a field it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unknown {
    /// Refuse the body: what a server receives is strict.
    Refuse,
    /// Skip the field: what a client receives is tolerant, so a field the platform
    /// adds one day does not stop every client from logging in.
    Ignore,
}

/// Reads a body's members into `slots` (one per allowed field, in `fields` order):
/// repeated fields are refused as they come, and unknown ones as `unknown` says.
fn members<const N: usize>(
    body: &[u8],
    fields: [&'static str; N],
    allowed: &'static str,
    unknown: Unknown,
) -> Result<[Option<Member>; N], BodyError> {
    if body.len() > MAX_LOGIN_BODY_LEN {
        return Err(BodyError::TooLarge { len: body.len() });
    }
    let mut slots: [Option<Member>; N] = std::array::from_fn(|_| None);
    read_object(
        body,
        |name| fields.contains(&name),
        |name, value| {
            let Some(i) = fields.iter().position(|f| *f == name.as_str()) else {
                return match unknown {
                    Unknown::Ignore => Ok(()),
                    Unknown::Refuse => Err(BodyError::UnknownField {
                        len: name.chars().count(),
                        allowed,
                    }),
                };
            };
            match slots.get_mut(i) {
                Some(slot @ None) => {
                    *slot = Some(value);
                    Ok(())
                }
                _ => Err(BodyError::Duplicate {
                    field: fields.get(i).copied().unwrap_or("body"),
                }),
            }
        },
    )
    .map_err(|e| match e {
        ObjectError::Syntax(e) => BodyError::Syntax {
            line: e.line,
            column: e.column,
        },
        ObjectError::NotAnObject => BodyError::NotAnObject,
        ObjectError::Member(e) => e,
    })?;
    Ok(slots)
}

fn string_field(slot: Option<Member>, field: &'static str) -> Result<Zeroizing<String>, BodyError> {
    match slot {
        None => Err(BodyError::Missing { field }),
        Some(Member::String(s)) => Ok(s),
        Some(_) => Err(BodyError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

/// A login answer's `expires_in`: a whole number of seconds from 1 to 366 days.
fn expires_in_of(expires_in: Option<Member>) -> Result<ExpiresIn, BodyError> {
    match expires_in {
        None => Err(BodyError::Missing {
            field: "expires_in",
        }),
        Some(Member::Number(Some(secs))) => {
            ExpiresIn::from_secs(secs).map_err(|e| BodyError::Invalid {
                field: "expires_in",
                reason: format!("is out of range: {e}"),
            })
        }
        Some(Member::Number(None)) => Err(BodyError::Invalid {
            field: "expires_in",
            reason: "must be a positive whole number of seconds".to_owned(),
        }),
        Some(_) => Err(BodyError::WrongType {
            field: "expires_in",
            expected: "a number",
        }),
    }
}

/// A login request: the user's dashboard username and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    username: String,
    password: Password,
}

impl LoginRequest {
    /// A request from a username (1 to 254 characters, no control characters, no
    /// invisible or direction-changing ones) and a password.
    pub fn new(username: &str, password: Password) -> Result<LoginRequest, BodyError> {
        let chars = username.chars().count();
        let reason = if username.trim().is_empty() {
            Some("must not be empty".to_owned())
        } else if chars > MAX_USERNAME_CHARS {
            Some(format!("must be at most {MAX_USERNAME_CHARS} characters"))
        } else if username.chars().any(char::is_control) {
            Some("must not contain control characters".to_owned())
        } else {
            username
                .chars()
                .find(|&c| pw_auth_core::grammar::is_invisible(c))
                .map(|c| {
                    format!(
                        "must not contain invisible or direction-changing characters ({})",
                        c.escape_unicode()
                    )
                })
        };
        match reason {
            Some(reason) => Err(BodyError::Invalid {
                field: "username",
                reason,
            }),
            None => Ok(LoginRequest {
                username: username.to_owned(),
                password,
            }),
        }
    }

    /// Parses a request body.
    ///
    /// ```
    /// use pw_auth_http::LoginRequest;
    /// // The seed page's example.
    /// let r = LoginRequest::parse(br#"{"username": "[email protected]", "password": "a1b2c3d4e5f6"}"#)?;
    /// assert_eq!(r.username(), "[email protected]");
    /// assert_eq!(format!("{r:?}").contains("a1b2c3d4e5f6"), false);
    /// # Ok::<(), pw_auth_http::BodyError>(())
    /// ```
    pub fn parse(body: &[u8]) -> Result<LoginRequest, BodyError> {
        let [username, password] = members(
            body,
            ["username", "password"],
            "`username`, `password`",
            Unknown::Refuse,
        )?;
        let username = string_field(username, "username")?;
        let mut password = string_field(password, "password")?;
        // The buffer moves into the password (no copy), which wipes it on drop.
        let password =
            Password::new(std::mem::take(&mut *password)).map_err(|e| BodyError::Invalid {
                field: "password",
                reason: match e {
                    pw_auth_core::PasswordError::Empty => "must not be empty".to_owned(),
                    other => format!("is invalid: {other}"),
                },
            })?;
        LoginRequest::new(&username, password)
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password.
    pub fn password(&self) -> &Password {
        &self.password
    }

    /// The JSON body to send. Holds the password; zeroized on drop.
    pub fn to_json(&self) -> Zeroizing<String> {
        write_object(&[
            ("password", Out::Str(self.password.expose_secret())),
            ("username", Out::Str(&self.username)),
        ])
    }

    /// The same credentials for the standard OAuth 2.0 token endpoint's client
    /// credentials grant (RFC 6749 §4.4), the username being the client id and the
    /// password the client secret: the form body, and the `Authorization` value
    /// that authenticates the client by HTTP Basic (§2.3.1: each part
    /// form-urlencoded, then joined by `:` and base64-encoded). The value holds the
    /// password; zeroized on drop.
    ///
    /// ```
    /// use pw_auth_core::Password;
    /// use pw_auth_http::LoginRequest;
    /// let r = LoginRequest::new("ann@acme.example", Password::new("p:w d".into())?)?;
    /// let (body, authorization) = r.to_oauth_client_credentials();
    /// assert_eq!(body, "grant_type=client_credentials");
    /// // base64("ann%40acme.example:p%3Aw+d")
    /// assert_eq!(authorization.as_str(), "Basic YW5uJTQwYWNtZS5leGFtcGxlOnAlM0F3K2Q=");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_oauth_client_credentials(&self) -> (&'static str, Zeroizing<String>) {
        use base64::Engine;
        let mut joined = Zeroizing::new(String::new());
        joined.extend(form_urlencoded::byte_serialize(self.username.as_bytes()));
        joined.push(':');
        joined.extend(form_urlencoded::byte_serialize(
            self.password.expose_secret().as_bytes(),
        ));
        let mut value = Zeroizing::new(String::from("Basic "));
        base64::engine::general_purpose::STANDARD.encode_string(joined.as_bytes(), &mut value);
        ("grant_type=client_credentials", value)
    }
}

/// A successful login's answer: a message, the access token and its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginResponse {
    message: String,
    token: AccessToken,
    expires_in: ExpiresIn,
}

impl LoginResponse {
    /// The answer to send for a token, with the platform's message.
    pub fn new(token: AccessToken, expires_in: ExpiresIn) -> LoginResponse {
        LoginResponse {
            message: LOGIN_SUCCESS_MESSAGE.to_owned(),
            token,
            expires_in,
        }
    }

    /// Parses a response body. `expires_in` must be a whole number of seconds from 1
    /// to 366 days. Tolerant where a request is strict: a field it does not know is
    /// skipped (any JSON value, nested as deep as the reader allows), so a field the
    /// platform adds does not stop a client from logging in; a known field given
    /// twice is still refused.
    ///
    /// ```
    /// use pw_auth_http::LoginResponse;
    /// let r = LoginResponse::parse(br#"{"message": "You have successfully logged in.", "token": "eyJ0eXAiOiJKV", "expires_in": 86400}"#)?;
    /// assert_eq!(r.expires_in().as_secs(), 86_400);
    /// assert!(LoginResponse::parse(br#"{"message": "", "token": "t", "expires_in": -1}"#).is_err());
    /// let newer = LoginResponse::parse(br#"{"message": "", "token": "t", "expires_in": 60, "token_type": "Bearer", "user": {"id": 7}}"#)?;
    /// assert_eq!(newer.expires_in().as_secs(), 60);
    /// # Ok::<(), pw_auth_http::BodyError>(())
    /// ```
    pub fn parse(body: &[u8]) -> Result<LoginResponse, BodyError> {
        let [message, token, expires_in] = members(
            body,
            ["message", "token", "expires_in"],
            "`message`, `token`, `expires_in`",
            Unknown::Ignore,
        )?;
        let message = string_field(message, "message")?.to_string();
        let mut token = string_field(token, "token")?;
        let token =
            AccessToken::new(std::mem::take(&mut *token)).map_err(|e| BodyError::Invalid {
                field: "token",
                reason: format!("is not a valid bearer token: {e}"),
            })?;
        let expires_in = expires_in_of(expires_in)?;
        Ok(LoginResponse {
            message,
            token,
            expires_in,
        })
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Parses the standard OAuth 2.0 token endpoint's successful answer (RFC 6749
    /// §5.1): `access_token`, `token_type` (which must be `Bearer`, in any case) and
    /// `expires_in` (here required, as the platform always sends it: 1 second to 366
    /// days). Unknown members are skipped, as in [`LoginResponse::parse`]; the
    /// message is empty.
    ///
    /// ```
    /// use pw_auth_http::LoginResponse;
    /// let r = LoginResponse::parse_oauth(br#"{"access_token": "pwt_abc", "token_type": "bearer", "expires_in": 3600, "scope": "x"}"#)?;
    /// assert_eq!((r.token().expose_secret(), r.expires_in().as_secs()), ("pwt_abc", 3600));
    /// assert!(LoginResponse::parse_oauth(br#"{"access_token": "t", "token_type": "mac", "expires_in": 60}"#).is_err());
    /// # Ok::<(), pw_auth_http::BodyError>(())
    /// ```
    pub fn parse_oauth(body: &[u8]) -> Result<LoginResponse, BodyError> {
        let [token, token_type, expires_in] = members(
            body,
            ["access_token", "token_type", "expires_in"],
            "`access_token`, `token_type`, `expires_in`",
            Unknown::Ignore,
        )?;
        let kind = string_field(token_type, "token_type")?;
        if !kind.eq_ignore_ascii_case("bearer") {
            return Err(BodyError::Invalid {
                field: "token_type",
                reason: "must be Bearer".to_owned(),
            });
        }
        let mut token = string_field(token, "access_token")?;
        let token =
            AccessToken::new(std::mem::take(&mut *token)).map_err(|e| BodyError::Invalid {
                field: "access_token",
                reason: format!("is not a valid bearer token: {e}"),
            })?;
        Ok(LoginResponse {
            message: String::new(),
            token,
            expires_in: expires_in_of(expires_in)?,
        })
    }

    /// The access token.
    pub fn token(&self) -> &AccessToken {
        &self.token
    }

    /// The lifetime in seconds.
    pub fn expires_in(&self) -> ExpiresIn {
        self.expires_in
    }

    /// The token's lifetime, counted from when the response was received.
    pub fn lifetime(&self, received_at: OffsetDateTime) -> Result<Lifetime, LifetimeError> {
        Lifetime::new(received_at, self.expires_in)
    }

    /// The JSON body to send. Holds the token; zeroized on drop.
    pub fn to_json(&self) -> Zeroizing<String> {
        write_object(&[
            ("expires_in", Out::Num(self.expires_in.as_secs())),
            ("message", Out::Str(&self.message)),
            ("token", Out::Str(self.token.expose_secret())),
        ])
    }

    /// The same token as a standard OAuth 2.0 token response (RFC 6749 §5.1):
    /// `{"access_token", "expires_in", "token_type": "Bearer"}`. Zeroized on drop.
    ///
    /// ```
    /// use pw_auth_core::{AccessToken, ExpiresIn};
    /// use pw_auth_http::LoginResponse;
    /// let r = LoginResponse::new(AccessToken::new("abc".to_owned())?, ExpiresIn::DEFAULT);
    /// assert_eq!(
    ///     &*r.to_oauth_json(),
    ///     r#"{"access_token":"abc","expires_in":86400,"token_type":"Bearer"}"#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_oauth_json(&self) -> Zeroizing<String> {
        write_object(&[
            ("access_token", Out::Str(self.token.expose_secret())),
            ("expires_in", Out::Num(self.expires_in.as_secs())),
            ("token_type", Out::Str("Bearer")),
        ])
    }
}

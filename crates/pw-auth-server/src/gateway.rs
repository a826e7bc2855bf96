//! The forward-auth decision endpoint's route table: which action a gateway's request
//! asks for, by its method and path (`GET /api/flows/{id}` → `flows.view`). A path
//! template's `{name}` segment matches any one non-empty segment; everything else
//! matches itself. A request no route maps is denied.

use std::fmt;
use std::str::FromStr;

use http::Method;

/// The most routes a table holds.
pub const MAX_ROUTES: usize = 4_096;

/// One route: a method, a path template and the action it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzRoute {
    method: Method,
    segments: Vec<Segment>,
    action: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

/// Why a route is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthzRouteError {
    /// Not three words.
    #[error("a route is `METHOD /path/{{param}} action`, three words: `{0}`")]
    Shape(String),
    /// The method is not a method.
    #[error("`{0}` is not an HTTP method")]
    Method(String),
    /// The path does not start with `/`, or has an empty or malformed segment.
    #[error("`{0}` is not a path template (`/`, then segments, each a word or `{{name}}`)")]
    Path(String),
}

impl FromStr for AuthzRoute {
    type Err = AuthzRouteError;

    /// `GET /fabric/api/flows/{id} flows.view`.
    fn from_str(s: &str) -> Result<AuthzRoute, AuthzRouteError> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let [method, path, action] = words.as_slice() else {
            return Err(AuthzRouteError::Shape(s.to_owned()));
        };
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| AuthzRouteError::Method((*method).to_owned()))?;
        let bad = || AuthzRouteError::Path((*path).to_owned());
        let rest = path.strip_prefix('/').ok_or_else(bad)?;
        let mut segments = Vec::new();
        if !rest.is_empty() {
            for part in rest.split('/') {
                let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) if !name.is_empty() && !name.contains(['{', '}']) => Segment::Param,
                    Some(_) => return Err(bad()),
                    None if part.is_empty() || part.contains(['{', '}', '?', '#']) => {
                        return Err(bad());
                    }
                    None => Segment::Literal(part.to_owned()),
                };
                segments.push(segment);
            }
        }
        Ok(AuthzRoute {
            method,
            segments,
            action: (*action).to_owned(),
        })
    }
}

impl fmt::Display for AuthzRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.method)?;
        if self.segments.is_empty() {
            f.write_str("/")?;
        }
        for s in &self.segments {
            match s {
                Segment::Literal(l) => write!(f, "/{l}")?,
                Segment::Param => f.write_str("/{param}")?,
            }
        }
        write!(f, " {}", self.action)
    }
}

impl<'de> serde::Deserialize<'de> for AuthzRoute {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AuthzRoute, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl AuthzRoute {
    /// The action the route asks for.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// Whether `method` and `path` (no query) are this route's.
    fn matches(&self, method: &Method, path: &str) -> bool {
        if self.method != method {
            return false;
        }
        let Some(rest) = path.strip_prefix('/') else {
            return false;
        };
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        parts.len() == self.segments.len()
            && parts.iter().zip(&self.segments).all(|(p, s)| match s {
                Segment::Literal(l) => p == l,
                Segment::Param => !p.is_empty(),
            })
    }
}

/// The first route of `routes` that `method` and `uri` (a path with an optional
/// query) are, if any.
pub(crate) fn route_for<'r>(
    routes: &'r [AuthzRoute],
    method: &Method,
    uri: &str,
) -> Option<&'r AuthzRoute> {
    let path = uri.split(['?', '#']).next().unwrap_or("");
    routes.iter().find(|r| r.matches(method, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> AuthzRoute {
        s.parse().unwrap()
    }

    #[test]
    fn routes_parse_and_read_back() {
        for text in [
            "GET /fabric/api/flows flows.view",
            "POST /fabric/api/flows/{param}/deploy flows.deploy",
            "DELETE / company.delete",
        ] {
            assert_eq!(r(text).to_string(), text);
        }
        assert_eq!(r("get /a a.view").to_string(), "GET /a a.view");
        for bad in [
            "GET /a",
            "GET /a a.view extra",
            "G@T /a a.view",
            "GET a a.view",
            "GET /a//b a.view",
            "GET /a/ a.view",
            "GET /{} a.view",
            "GET /a{b} a.view",
            "GET /a?b a.view",
        ] {
            assert!(bad.parse::<AuthzRoute>().is_err(), "{bad}");
        }
        assert_eq!(
            "GET /a".parse::<AuthzRoute>().unwrap_err().to_string(),
            "a route is `METHOD /path/{param} action`, three words: `GET /a`"
        );
    }

    #[test]
    fn a_request_maps_to_the_first_route_it_matches() {
        let routes = [
            r("GET /api/flows flows.view"),
            r("GET /api/flows/{id} flows.view"),
            r("POST /api/flows/{id}/deploy flows.deploy"),
            r("GET / company.view"),
        ];
        let action = |m: Method, uri: &str| route_for(&routes, &m, uri).map(AuthzRoute::action);
        assert_eq!(action(Method::GET, "/api/flows"), Some("flows.view"));
        assert_eq!(action(Method::GET, "/api/flows?page=2"), Some("flows.view"));
        assert_eq!(action(Method::GET, "/api/flows/f1"), Some("flows.view"));
        assert_eq!(
            action(Method::POST, "/api/flows/f1/deploy"),
            Some("flows.deploy")
        );
        assert_eq!(action(Method::GET, "/"), Some("company.view"));
        for (m, uri) in [
            (Method::POST, "/api/flows"),
            (Method::GET, "/api/flows/"),
            (Method::GET, "/api/flows//deploy"),
            (Method::GET, "/api/flows/f1/deploy"),
            (Method::POST, "/api/flows//deploy"),
            (Method::GET, "/api"),
            (Method::GET, "api/flows"),
            (Method::GET, ""),
        ] {
            assert_eq!(action(m.clone(), uri), None, "{m} {uri}");
        }
    }
}

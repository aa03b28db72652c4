//! Access tokens and the caller behind a request.
//!
//! Tokens are HS256 JWTs (the `jsonwebtoken` crate: maintained, and it does the constant-time
//! signature check we would otherwise hand-roll) signed with a key kept in the database, so any
//! replica verifies any other's tokens. Expiry is checked against the platform's clock, not the
//! crate's, so tests with a manual clock see tokens expire too. Verification needs no database
//! read: a request's authentication costs one HMAC.

use jiebang_domain::identity::{Role, User};
use jiebang_domain::{Caller, DomainError, Timestamp};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tonic::Request;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    name: String,
    role: String,
    org: String,
    /// Seconds since the epoch, per RFC 7519.
    iat: i64,
    exp: i64,
}

/// Signs and verifies access tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// A token for `user`, valid from `now` for the configured time to live.
    pub fn issue(&self, user: &User, now: Timestamp) -> Result<(String, Timestamp), DomainError> {
        let expires = now.plus(self.ttl);
        let claims = Claims {
            sub: user.id.clone(),
            name: user.username.clone(),
            role: user.role.as_str().to_owned(),
            org: user.organization_id.clone(),
            iat: now.micros() / 1_000_000,
            exp: expires.micros() / 1_000_000,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| DomainError::Unauthenticated("could not issue a token".into()))?;
        Ok((token, Timestamp(claims.exp * 1_000_000)))
    }

    /// The caller a token names, if its signature is ours and it has not expired at `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<Caller, String> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| "the access token is invalid; log in again".to_owned())?;
        let claims = data.claims;
        if now.micros() / 1_000_000 >= claims.exp {
            return Err("the access token has expired; log in again".to_owned());
        }
        let role = Role::parse(&claims.role).ok_or("the access token names an unknown role")?;
        Ok(Caller {
            user_id: claims.sub,
            username: claims.name,
            role,
            organization_id: claims.org,
        })
    }
}

/// What the interceptor learned about a request's credentials; handlers decide whether they
/// need a caller (every RPC but Login does).
#[derive(Debug, Clone)]
pub enum Authn {
    Caller(Caller),
    Missing,
    Invalid(String),
}

/// Builds the interceptor that reads `authorization: Bearer <token>` into an [`Authn`]. It never
/// rejects by itself, so health, reflection and Login pass through untouched.
pub fn interceptor(
    keys: Arc<TokenKeys>,
    clock: Arc<dyn jiebang_domain::Clock>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, tonic::Status> + Clone {
    move |mut request: Request<()>| {
        let authn = match request.metadata().get("authorization") {
            None => Authn::Missing,
            Some(value) => match value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
                None => Authn::Invalid("authorization must be `Bearer <access token>`".into()),
                Some(token) => match keys.verify(token.trim(), clock.now()) {
                    Ok(caller) => Authn::Caller(caller),
                    Err(why) => Authn::Invalid(why),
                },
            },
        };
        request.extensions_mut().insert(authn);
        Ok(request)
    }
}

/// The authenticated caller of a request, or UNAUTHENTICATED.
pub fn caller<T>(request: &Request<T>) -> Result<Caller, DomainError> {
    match request.extensions().get::<Authn>() {
        Some(Authn::Caller(caller)) => Ok(caller.clone()),
        Some(Authn::Invalid(why)) => Err(DomainError::Unauthenticated(why.clone())),
        Some(Authn::Missing) | None => Err(DomainError::Unauthenticated(
            "this call needs an access token: log in and send `authorization: Bearer <token>`"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: "u1".into(),
            username: "zhang.san".into(),
            display_name: "张三".into(),
            role: Role::Publisher,
            organization_id: "o1".into(),
            email: String::new(),
            phone: String::new(),
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn a_token_names_its_user_until_it_expires() {
        let keys = TokenKeys::new(b"secret", Duration::from_secs(3600));
        let now = Timestamp(1_790_000_000_000_000);
        let (token, expires) = keys.issue(&user(), now).unwrap();
        let caller = keys.verify(&token, now).unwrap();
        assert_eq!(caller.user_id, "u1");
        assert_eq!(caller.role, Role::Publisher);
        assert!(keys.verify(&token, expires).is_err());
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let now = Timestamp(1_790_000_000_000_000);
        let (token, _) = TokenKeys::new(b"other", Duration::from_secs(60))
            .issue(&user(), now)
            .unwrap();
        assert!(
            TokenKeys::new(b"secret", Duration::from_secs(60))
                .verify(&token, now)
                .is_err()
        );
    }
}

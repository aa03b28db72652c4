//! Transport glue shared by the jiebang service crates.
//!
//! Each service crate is a thin adapter: convert the request, call the domain, persist through
//! storage, convert back. What they have in common lives here:
//!
//! - [`error`]: [`ApiError`], the transport's one error type, and its mapping to `tonic::Status`
//!   (the only place where domain and storage failures become gRPC codes).
//! - [`auth`]: access tokens, the interceptor that reads them, and [`auth::caller`].
//! - [`platform`]: what every handler needs (store, clock, settings) and the write path with
//!   idempotency and retries.
//! - [`idempotency`]: `request_id` handling (AIP-155).
//! - [`paging`]: page sizes and opaque keyset page tokens.
//! - [`convert`]: timestamps and other small conversions.

pub mod auth;
pub mod convert;
pub mod error;
pub mod idempotency;
pub mod paging;
pub mod platform;

pub use auth::caller;

/// The body of a unary RPC whose handler needs the authenticated caller: reads the caller (or
/// answers UNAUTHENTICATED), runs `$self.$method(caller, message)`, maps its `ApiError` to a
/// status in the one place that does so, and wraps the result with `$wrap`.
#[macro_export]
macro_rules! authed {
    ($self:ident, $request:ident, $method:ident, $wrap:expr) => {{
        let caller = $crate::caller(&$request).map_err($crate::ApiError::from)?;
        let result = $self
            .$method(caller, $request.into_inner())
            .await
            .map_err(::tonic::Status::from)?;
        Ok(::tonic::Response::new($wrap(result)))
    }};
    ($self:ident, $request:ident, $method:ident) => {
        $crate::authed!($self, $request, $method, |r| r)
    };
}
pub use error::ApiError;
pub use platform::{Platform, Settings};

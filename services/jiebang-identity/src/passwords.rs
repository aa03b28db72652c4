//! Password hashing with argon2id (the `argon2` crate, RustCrypto): the OWASP-recommended
//! algorithm, with the crate's default cost. Hashing takes tens of milliseconds of CPU and
//! 19 MiB of memory, so it runs on the blocking pool rather than stalling the async workers,
//! and at most one hash per core runs at a time: a burst of logins then queues instead of
//! spreading over hundreds of blocking threads, each keeping its own 19 MiB malloc arena.

use std::sync::OnceLock;
use tokio::sync::Semaphore;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

fn hashing_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
    })
}

/// A PHC-format argon2id hash of `password` with a random salt.
pub async fn hash(password: String) -> String {
    let Ok(_slot) = hashing_slots().acquire().await else {
        return String::new();
    };
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            // Only fails for parameters out of range, which the defaults are not.
            .unwrap_or_default()
    })
    .await
    .unwrap_or_default()
}

/// Whether `password` matches the stored hash. A malformed stored hash never matches.
pub async fn verify(password: String, stored_hash: String) -> bool {
    let Ok(_slot) = hashing_slots().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored_hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, verified against when a username does not exist, so a
/// failed login takes as long whether or not the user exists.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Q0i1Z8dQWm2k0jy5cPXqkqvNXzPGyzZ6lG3DkhcXjJ8";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery".into()).await;
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), h.clone()).await);
        assert!(!verify("wrong horse battery".into(), h).await);
        assert!(!verify("anything".into(), "not a hash".into()).await);
    }
}

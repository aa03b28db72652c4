//! Password hashing with argon2id (the `argon2` crate, RustCrypto): the OWASP-recommended
//! algorithm, with the crate's default cost. Each hash takes tens of milliseconds of CPU and a
//! 19 MiB work area, so it runs off the async workers, on a few threads of its own (one per
//! core) that live as long as the process, each reusing one work area. The crate's
//! `hash_password`/`verify_password` allocate a fresh 19 MiB per call, which glibc's growing
//! mmap threshold then keeps: the server grew by 19 MiB per login until it held hundreds
//! (RustCrypto/password-hashes#526).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads' queue, started on first use.
fn hashers() -> &'static Mutex<Sender<Job>> {
    static QUEUE: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        for i in 0..threads {
            let rx: Arc<Mutex<Receiver<Job>>> = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take the next job, not while hashing.
                        let job = match rx.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
        }
        Mutex::new(tx)
    })
}

/// Runs `work` on a hashing thread and waits for it without blocking the async worker.
async fn on_hasher<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(work());
    });
    hashers().lock().ok()?.send(job).ok()?;
    rx.await.ok()
}

thread_local! {
    /// This thread's argon2 work area, grown once to the largest cost seen and kept.
    static WORK_AREA: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The argon2 output for `password` and `salt` under `argon` (whose parameters are `params`),
/// computed in this thread's work area.
fn compute(
    argon: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: Salt<'_>,
) -> argon2::password_hash::Result<Output> {
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let length = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    WORK_AREA.with(|area| {
        let mut area = area.borrow_mut();
        if area.len() < params.block_count() {
            area.resize(params.block_count(), Block::default());
        }
        Output::init_with(length, |out| {
            Ok(argon.hash_password_into_with_memory(password, salt, out, &mut area[..])?)
        })
    })
}

fn hash_now(password: &[u8]) -> argon2::password_hash::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = compute(&argon, &params, password, salt.as_salt())?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    }
    .to_string())
}

fn verify_now(password: &[u8], stored: &str) -> argon2::password_hash::Result<bool> {
    let parsed = PasswordHash::new(stored)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(&parsed)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    // `Output`'s equality is constant-time.
    Ok(compute(&argon, &params, password, salt)? == expected)
}

/// A PHC-format argon2id hash of `password` with a random salt.
pub async fn hash(password: String) -> String {
    on_hasher(move || {
        // Only fails for parameters out of range, which the defaults are not.
        hash_now(password.as_bytes()).unwrap_or_default()
    })
    .await
    .unwrap_or_default()
}

/// Whether `password` matches the stored hash. A malformed stored hash never matches.
pub async fn verify(password: String, stored_hash: String) -> bool {
    on_hasher(move || verify_now(password.as_bytes(), &stored_hash).unwrap_or(false))
        .await
        .unwrap_or(false)
}

/// A hash of a random password, verified against when a username does not exist, so a
/// failed login takes as long whether or not the user exists.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Q0i1Z8dQWm2k0jy5cPXqkqvNXzPGyzZ6lG3DkhcXjJ8";

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher;
    use argon2::password_hash::PasswordVerifier;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery".into()).await;
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery".into(), h.clone()).await);
        assert!(!verify("wrong horse battery".into(), h).await);
        assert!(!verify("anything".into(), "not a hash".into()).await);
    }

    #[test]
    fn hashes_stay_interchangeable_with_the_crates_own() {
        // Stored hashes were made by `Argon2::hash_password`; both directions must verify.
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"stored before", &salt)
            .unwrap()
            .to_string();
        assert_eq!(verify_now(b"stored before", &theirs), Ok(true));
        assert_eq!(verify_now(b"stored after", &theirs), Ok(false));
        let ours = hash_now(b"stored after").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"stored after", &parsed)
                .is_ok()
        );
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    fn rss_kib() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    #[tokio::test]
    async fn logging_in_again_and_again_does_not_grow_memory() {
        let stored = hash("correct horse battery".into()).await;
        let Some(start) = rss_kib() else { return };
        for _ in 0..12 {
            assert!(verify("correct horse battery".into(), stored.clone()).await);
        }
        // One 19 MiB work area per hashing thread at most; before, 19 MiB more per call.
        let grown = rss_kib().unwrap_or(start).saturating_sub(start);
        assert!(
            grown < 48 * 1024,
            "grew by {grown} KiB over 12 verifications"
        );
    }
}

//! Password storage and checking: Argon2id (RustCrypto's `argon2`, default parameters) in PHC
//! strings, the upgrade of the salted SHA-256 form older baton versions wrote, and a cache of
//! recent successful checks.
//!
//! Why a cache: with `--auth`, every REST request carries basic-auth credentials, and Argon2 is
//! deliberately slow (tens of milliseconds of CPU). The cache remembers, per user, the stored
//! hash a check succeeded against and a keyed SHA-256 of the password (the key is random per
//! process and never leaves memory), so repeated requests cost one fast hash. Changing the
//! password changes the stored hash and so misses the cache; the cache is bounded.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::digest::sha256_hex;

/// The prefix of the salted SHA-256 form (`sha256:<salt>:<hex>`) written before Argon2.
const LEGACY_PREFIX: &str = "sha256:";

/// Most users remembered by the cache; when full it starts over (a rare cost, never wrong).
const CACHE_CAPACITY: usize = 10_000;

/// The outcome of checking a password against its stored form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It matches the stored Argon2 hash.
    Matches,
    /// It matches a legacy SHA-256 hash: store a fresh Argon2 hash now.
    MatchesLegacy,
    /// It does not match (or the stored form is unreadable).
    Mismatch,
}

/// Argon2id hash of `password` with a fresh random salt, as a PHC string.
pub(crate) fn hash(password: &str) -> Result<String, String> {
    // 16 bytes from the OS generator (uuid v4 reads getrandom; 122 of its bits are random).
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| format!("cannot make a salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Check `password` against `stored` (CPU-heavy for Argon2: call it off the async runtime).
pub(crate) fn verify(stored: &str, password: &str) -> Verdict {
    if let Some(rest) = stored.strip_prefix(LEGACY_PREFIX) {
        let Some((salt, _)) = rest.split_once(':') else {
            return Verdict::Mismatch;
        };
        let expected = format!(
            "{LEGACY_PREFIX}{salt}:{}",
            sha256_hex(format!("{salt}:{password}").as_bytes())
        );
        return if constant_time_eq(expected.as_bytes(), stored.as_bytes()) {
            Verdict::MatchesLegacy
        } else {
            Verdict::Mismatch
        };
    }
    match PasswordHash::new(stored) {
        Ok(parsed) => match Argon2::default().verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Verdict::Matches,
            Err(_) => Verdict::Mismatch,
        },
        Err(_) => Verdict::Mismatch,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Recent successful checks: user -> (stored hash, keyed digest of the password).
pub(crate) struct CheckCache {
    key: String,
    entries: Mutex<HashMap<String, (String, String)>>,
}

impl CheckCache {
    /// An empty cache with a fresh random key.
    pub(crate) fn new() -> CheckCache {
        CheckCache {
            key: format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4()),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn digest(&self, password: &str) -> String {
        sha256_hex(format!("{}:{password}", self.key).as_bytes())
    }

    /// Whether `password` was recently checked successfully against exactly `stored`.
    pub(crate) fn knows(&self, user: &str, stored: &str, password: &str) -> bool {
        let digest = self.digest(password);
        self.entries.lock().is_ok_and(|entries| {
            entries.get(user).is_some_and(|(h, d)| {
                h == stored && constant_time_eq(d.as_bytes(), digest.as_bytes())
            })
        })
    }

    /// Remember a successful check.
    pub(crate) fn remember(&self, user: &str, stored: &str, password: &str) {
        let digest = self.digest(password);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_CAPACITY && !entries.contains_key(user) {
                entries.clear();
            }
            entries.insert(user.to_owned(), (stored.to_owned(), digest));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_hashes_verify_and_are_salted() {
        let a = hash("s3cret").expect("hash");
        let b = hash("s3cret").expect("hash");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "every hash has its own salt");
        assert_eq!(verify(&a, "s3cret"), Verdict::Matches);
        assert_eq!(verify(&a, "wrong"), Verdict::Mismatch);
    }

    #[test]
    fn legacy_sha256_form_matches_once_for_upgrade() {
        let salt = "abc";
        let legacy = format!("sha256:{salt}:{}", sha256_hex(b"abc:pw"));
        assert_eq!(verify(&legacy, "pw"), Verdict::MatchesLegacy);
        assert_eq!(verify(&legacy, "nope"), Verdict::Mismatch);
        assert_eq!(verify("sha256:broken", "pw"), Verdict::Mismatch);
        assert_eq!(verify("garbage", "pw"), Verdict::Mismatch);
    }

    #[test]
    fn the_cache_knows_only_the_same_password_and_hash() {
        let cache = CheckCache::new();
        cache.remember("ada", "H1", "pw");
        assert!(cache.knows("ada", "H1", "pw"));
        assert!(!cache.knows("ada", "H1", "other"));
        assert!(!cache.knows("ada", "H2", "pw"), "a changed password misses");
        assert!(!cache.knows("bob", "H1", "pw"));
    }
}

//! Unguessable tokens (sessions, API keys, later portal and tracking links) and passwords.
//!
//! Tokens carry 256 random bits, are shown once and stored only as a SHA-256 digest: a
//! high-entropy token needs no slow hash. Passwords use Argon2id with a random salt.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// A fresh random token: 32 bytes from the OS-seeded CSPRNG, base64url without padding.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes[..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token: lowercase hex SHA-256.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Constant-time equality for secrets compared in memory (CSRF tokens).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub const MIN_PASSWORD_CHARS: usize = 10;

/// Checks the password policy: long enough to resist guessing, short enough to hash quickly.
pub fn check_password_policy(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        Err(format!("use at least {MIN_PASSWORD_CHARS} characters"))
    } else if n > 256 {
        Err("use at most 256 characters".into())
    } else {
        Ok(())
    }
}

/// Argon2id hash in PHC string form. CPU-heavy: runs on the blocking pool.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::Unexpected(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Unexpected(format!("password hashing task failed: {e}")))?
}

/// A hash of a random password nobody has, verified against when the user does not exist so
/// that a wrong email takes as long as a wrong password. Made once, on first use.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default().hash_password(new_token().as_bytes()).map(|h| h.to_string()).unwrap_or_default()
    })
}

/// True when `password` matches `phc`. A malformed stored hash counts as a mismatch.
pub async fn verify_password(password: String, phc: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let stored: &str = match &phc {
            Some(h) => h,
            None => dummy_hash(),
        };
        let ok = match PasswordHash::new(stored) {
            Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        };
        ok && phc.is_some()
    })
    .await
    .map_err(|e| Error::Unexpected(format!("password check task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes base64url is 43 characters");
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[tokio::test]
    async fn passwords_verify_only_with_the_right_secret() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(h.clone())).await.unwrap());
        assert!(!verify_password("wrong horse battery".into(), Some(h)).await.unwrap());
        assert!(!verify_password("anything".into(), None).await.unwrap());
        assert!(!verify_password("anything".into(), Some("not-a-hash".into())).await.unwrap());
    }

    #[test]
    fn password_policy() {
        assert!(check_password_policy("short").is_err());
        assert!(check_password_policy("long enough pw").is_ok());
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}

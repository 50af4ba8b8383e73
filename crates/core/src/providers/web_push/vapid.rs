//! Voluntary Application Server Identification (RFC 8292): the server's P-256 key signs a
//! short-lived JWT (ES256) for each push service origin, sent as
//! `Authorization: vapid t=<jwt>, k=<public key>`. Browsers bind a subscription to the public
//! key (the page passes it as `applicationServerKey`), so a push service accepts messages for
//! it only from whoever holds the private key. [`verify`] is the push service's side, for the
//! stand-in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde::{Deserialize, Serialize};

/// How long a token is good for; RFC 8292 allows at most 24 hours.
pub const TOKEN_HOURS: i64 = 12;

/// `{"typ":"JWT","alg":"ES256"}`, base64url.
const HEADER: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9";

/// The server's signing key.
pub struct Key {
    pair: EcdsaKeyPair,
    public: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("public", &self.public).finish_non_exhaustive()
    }
}

/// A JWT's claims (RFC 8292 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The push service's origin.
    pub aud: String,
    /// Seconds since the epoch.
    pub exp: i64,
    /// Who to contact about this sender (`mailto:` or `https:`).
    pub sub: String,
}

impl Key {
    /// A new key and its PKCS#8 document, the form it is stored in.
    pub fn generate() -> Result<(Key, Vec<u8>), String> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| "cannot generate a P-256 key".to_string())?;
        let key = Key::from_pkcs8(doc.as_ref())?;
        Ok((key, doc.as_ref().to_vec()))
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Key, String> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
            .map_err(|e| format!("not a P-256 private key in PKCS#8: {e}"))?;
        let public = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        Ok(Key { pair, public })
    }

    /// The public key, base64url: the page's `applicationServerKey` and the header's `k=`.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header value for a message to `audience` (the endpoint's origin).
    pub fn authorization(&self, audience: &str, subject: &str, now: Timestamp) -> Result<String, String> {
        let claims =
            Claims { aud: audience.to_string(), exp: now.as_second() + TOKEN_HOURS * 3600, sub: subject.into() };
        let claims = serde_json::to_vec(&claims).map_err(|e| e.to_string())?;
        let input = format!("{HEADER}.{}", URL_SAFE_NO_PAD.encode(claims));
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| "cannot sign the VAPID token".to_string())?;
        Ok(format!("vapid t={input}.{}, k={}", URL_SAFE_NO_PAD.encode(sig.as_ref()), self.public))
    }
}

/// What a valid `Authorization: vapid` header says: its claims and the sender's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub claims: Claims,
    /// base64url, as sent.
    pub public_key: String,
}

/// Checks an `Authorization` header as a push service does: the `vapid` scheme, a token
/// signed (ES256) by the key in `k=`, for `audience`, expiring after `now` and within 24
/// hours. The error says what is wrong.
pub fn verify(header: &str, audience: &str, now: Timestamp) -> Result<Verified, String> {
    let Some((scheme, params)) = header.trim().split_once(' ') else {
        return Err("no credentials after the scheme".into());
    };
    if !scheme.eq_ignore_ascii_case("vapid") {
        return Err(format!("the scheme is {scheme}, not vapid"));
    }
    let (mut t, mut k) = (None, None);
    for part in params.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.trim()),
            Some(("k", v)) => k = Some(v.trim()),
            _ => {}
        }
    }
    let (Some(t), Some(k)) = (t, k) else { return Err("t= and k= are both required".into()) };
    let public = URL_SAFE_NO_PAD.decode(k).map_err(|_| "k= is not base64url".to_string())?;
    let mut parts = t.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("the token is not a JWS in three parts".into());
    };
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the token's header is not base64url JSON")?;
    if header["alg"] != "ES256" {
        return Err(format!("the token's alg is {}, not ES256", header["alg"]));
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| "the signature is not base64url".to_string())?;
    ring::signature::UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
        .verify(format!("{h}.{c}").as_bytes(), &sig)
        .map_err(|_| "the signature does not match k=".to_string())?;
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the claims are not base64url JSON with aud, exp and sub")?;
    if claims.aud != audience {
        return Err(format!("aud is {}, not {audience}", claims.aud));
    }
    let now = now.as_second();
    if claims.exp <= now {
        return Err("the token has expired".into());
    }
    if claims.exp > now + 24 * 3600 {
        return Err("exp is more than 24 hours away".into());
    }
    Ok(Verified { claims, public_key: k.to_string() })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NOW: &str = "2026-12-06T22:00:00Z";
    const AUD: &str = "https://fcm.googleapis.com";

    #[test]
    fn a_signed_token_verifies_for_its_audience_until_it_expires() {
        let (key, der) = Key::generate().unwrap();
        let now: Timestamp = NOW.parse().unwrap();
        let header = key.authorization(AUD, "mailto:ops@example.com", now).unwrap();
        assert!(header.starts_with(&format!("vapid t={HEADER}.")), "{header}");
        assert!(header.ends_with(&format!(", k={}", key.public_key())));
        assert_eq!(key.public_key().len(), 87, "65 bytes, base64url");
        let ok = verify(&header, AUD, now).unwrap();
        assert_eq!(
            ok.claims,
            Claims { aud: AUD.into(), exp: now.as_second() + 43_200, sub: "mailto:ops@example.com".into() }
        );
        assert_eq!(ok.public_key, key.public_key());
        // The stored key signs the same way after a restart.
        let again = Key::from_pkcs8(&der).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        verify(&again.authorization(AUD, "mailto:x@y.z", now).unwrap(), AUD, now).unwrap();

        let later = now + jiff::SignedDuration::from_hours(12);
        assert_eq!(verify(&header, AUD, later).unwrap_err(), "the token has expired");
        assert_eq!(
            verify(&header, "https://updates.push.services.mozilla.com", now).unwrap_err(),
            "aud is https://fcm.googleapis.com, not https://updates.push.services.mozilla.com"
        );
        let earlier = now - jiff::SignedDuration::from_hours(13);
        assert_eq!(verify(&header, AUD, earlier).unwrap_err(), "exp is more than 24 hours away");
    }

    #[test]
    fn a_token_signed_by_another_key_or_mangled_is_refused() {
        let (key, _) = Key::generate().unwrap();
        let (other, _) = Key::generate().unwrap();
        let now: Timestamp = NOW.parse().unwrap();
        let header = key.authorization(AUD, "mailto:ops@example.com", now).unwrap();
        let swapped = header.replace(key.public_key(), other.public_key());
        assert_eq!(verify(&swapped, AUD, now).unwrap_err(), "the signature does not match k=");
        assert_eq!(
            verify(&header.replacen("vapid", "WebPush", 1), AUD, now).unwrap_err(),
            "the scheme is WebPush, not vapid"
        );
        assert_eq!(verify("vapid k=abc", AUD, now).unwrap_err(), "t= and k= are both required");
        // The scheme is case-insensitive and spacing around parameters is free.
        let spaced = header.replacen("vapid ", "VAPID  ", 1).replace(", k=", " ,k=");
        verify(&spaced, AUD, now).unwrap();
    }
}

//! Message encryption for Web Push (RFC 8291 over RFC 8188's `aes128gcm`): one record, the
//! sender's ephemeral P-256 key in the header, keys derived from the ECDH secret, the
//! subscription's auth secret and a random salt. Only the browser that holds the
//! subscription's private key can read the payload; the push service carries ciphertext.
//!
//! [`derive`] and [`open`] are the receiving side's steps too, for the push stand-in.

use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{self, ECDH_P256, EphemeralPrivateKey, UnparsedPublicKey};
use ring::error::Unspecified;
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};

/// The record size we declare; push services must accept bodies of 4096 bytes.
pub const RECORD_SIZE: u32 = 4096;
/// Salt (16), record size (4), key id length (1), the sender's public key (65).
pub const HEADER_LEN: usize = 86;
/// The most a payload can hold in one 4096-byte record: header, tag (16), delimiter (1).
pub const MAX_PLAINTEXT: usize = RECORD_SIZE as usize - HEADER_LEN - 16 - 1;

/// Why a payload could not be encrypted or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EceError(pub String);

impl From<Unspecified> for EceError {
    fn from(_: Unspecified) -> Self {
        EceError("the keys do not fit together (a bad public key or auth secret)".into())
    }
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn hkdf_into(salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<(), Unspecified> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    prk.expand(info, Len(out.len()))?.fill(out)
}

/// The content key and nonce of a message (RFC 8291 §3.4 and RFC 8188 §2.2-2.3): from the
/// ECDH secret, the auth secret, both public keys (the browser's `ua_public`, the sender's
/// `as_public`) and the salt.
pub fn derive(
    ecdh_secret: &[u8],
    auth: &[u8; 16],
    ua_public: &[u8; 65],
    as_public: &[u8],
    salt: &[u8; 16],
) -> Result<([u8; 16], [u8; 12]), EceError> {
    let mut ikm = [0u8; 32];
    hkdf_into(auth, ecdh_secret, &[b"WebPush: info\0", ua_public, as_public], &mut ikm)?;
    let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
    hkdf_into(salt, &ikm, &[b"Content-Encoding: aes128gcm\0"], &mut cek)?;
    hkdf_into(salt, &ikm, &[b"Content-Encoding: nonce\0"], &mut nonce)?;
    Ok((cek, nonce))
}

/// Encrypts `plaintext` for the browser with public key `ua_public` and auth secret `auth`:
/// the whole request body, header and one record.
pub fn encrypt(ua_public: &[u8; 65], auth: &[u8; 16], plaintext: &[u8]) -> Result<Vec<u8>, EceError> {
    let rng = SystemRandom::new();
    let eph = EphemeralPrivateKey::generate(&ECDH_P256, &rng)?;
    let mut salt = [0u8; 16];
    rng.fill(&mut salt)?;
    encrypt_with(eph, salt, ua_public, auth, plaintext)
}

/// [`encrypt`] with a given ephemeral key and salt (the RFC's test vectors fix both).
pub fn encrypt_with(
    eph: EphemeralPrivateKey,
    salt: [u8; 16],
    ua_public: &[u8; 65],
    auth: &[u8; 16],
    plaintext: &[u8],
) -> Result<Vec<u8>, EceError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(EceError(format!(
            "a push message holds at most {MAX_PLAINTEXT} bytes; this one has {}",
            plaintext.len()
        )));
    }
    let as_public = eph.compute_public_key()?;
    let (cek, nonce) = agreement::agree_ephemeral(eph, &UnparsedPublicKey::new(&ECDH_P256, ua_public), |ecdh| {
        derive(ecdh, auth, ua_public, as_public.as_ref(), &salt)
    })
    .map_err(|_| EceError("the subscription's public key is not a P-256 point".into()))??;
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &cek)?);
    let mut record = Vec::with_capacity(plaintext.len() + 17);
    record.extend_from_slice(plaintext);
    // The last (and only) record's delimiter.
    record.push(0x02);
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut record)?;
    let mut body = Vec::with_capacity(HEADER_LEN + record.len());
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(as_public.as_ref());
    body.extend_from_slice(&record);
    Ok(body)
}

/// A received body's header (RFC 8188 §2.1) and its one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub salt: [u8; 16],
    pub record_size: u32,
    /// The sender's ephemeral public key (the key id).
    pub as_public: &'a [u8],
    /// Ciphertext and tag.
    pub record: &'a [u8],
}

/// Splits a Web Push body into its header and its single record.
pub fn parse(body: &[u8]) -> Result<Header<'_>, EceError> {
    if body.len() < HEADER_LEN + 17 {
        return Err(EceError(format!("a body of {} bytes is too short for aes128gcm", body.len())));
    }
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&body[..16]);
    let record_size = u32::from_be_bytes([body[16], body[17], body[18], body[19]]);
    if record_size < 18 {
        return Err(EceError(format!("record size {record_size} is below the minimum of 18")));
    }
    if body[20] != 65 || body[21] != 0x04 {
        return Err(EceError("the key id is not an uncompressed P-256 public key".into()));
    }
    let record = &body[HEADER_LEN..];
    if record.len() > record_size as usize {
        return Err(EceError("Web Push allows one record; this body holds more".into()));
    }
    Ok(Header { salt, record_size, as_public: &body[21..HEADER_LEN], record })
}

/// Decrypts one record with the content key and nonce and removes its padding.
pub fn open(cek: &[u8; 16], nonce: &[u8; 12], record: &[u8]) -> Result<Vec<u8>, EceError> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, cek)?);
    let mut buf = record.to_vec();
    let len = key
        .open_in_place(Nonce::assume_unique_for_key(*nonce), Aad::empty(), &mut buf)
        .map_err(|_| EceError("the record does not decrypt with these keys".into()))?
        .len();
    buf.truncate(len);
    while buf.last() == Some(&0) {
        buf.pop();
    }
    match buf.pop() {
        Some(0x02) => Ok(buf),
        Some(0x01) => Err(EceError("the only record is marked as not the last".into())),
        _ => Err(EceError("the record has no delimiter".into())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn b(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    // RFC 8291 §5 and Appendix A.
    const PLAINTEXT: &str = "When I grow up, I want to be a watermelon";
    const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    const AS_PUBLIC: &str = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    const UA_PUBLIC: &str = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
    const ECDH: &str = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs";
    const CEK: &str = "oIhVW04MRdy2XN9CiKLxTg";
    const NONCE: &str = "4h_95klXJ5E_qnoN";
    const BODY: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    /// The "ephemeral" key the RFC fixes, rebuilt from its scalar.
    #[allow(deprecated)]
    fn fixed_key(d: &[u8]) -> EphemeralPrivateKey {
        EphemeralPrivateKey::generate(&ECDH_P256, &ring::test::rand::FixedSliceRandom { bytes: d }).unwrap()
    }

    fn arr<const N: usize>(v: Vec<u8>) -> [u8; N] {
        v.try_into().unwrap()
    }

    #[test]
    fn encrypting_the_rfc_example_gives_its_body_byte_for_byte() {
        let eph = fixed_key(&b(AS_PRIVATE));
        assert_eq!(eph.compute_public_key().unwrap().as_ref(), b(AS_PUBLIC).as_slice());
        let body = encrypt_with(eph, arr(b(SALT)), &arr(b(UA_PUBLIC)), &arr(b(AUTH)), PLAINTEXT.as_bytes()).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(&body), BODY);
    }

    #[test]
    fn the_receiver_derives_the_rfcs_keys_and_reads_the_plaintext() {
        let body = b(BODY);
        let h = parse(&body).unwrap();
        assert_eq!(h.record_size, 4096);
        assert_eq!(h.as_public, b(AS_PUBLIC).as_slice());
        let ua = fixed_key(&b(UA_PRIVATE));
        let (cek, nonce) = agreement::agree_ephemeral(ua, &UnparsedPublicKey::new(&ECDH_P256, h.as_public), |ecdh| {
            assert_eq!(ecdh, b(ECDH).as_slice());
            derive(ecdh, &arr(b(AUTH)), &arr(b(UA_PUBLIC)), h.as_public, &h.salt)
        })
        .unwrap()
        .unwrap();
        assert_eq!((cek.to_vec(), nonce.to_vec()), (b(CEK), b(NONCE)));
        assert_eq!(open(&cek, &nonce, h.record).unwrap(), PLAINTEXT.as_bytes());
    }

    #[test]
    fn a_fresh_message_round_trips_and_tampering_is_caught() {
        let ua_private = [7u8; 32];
        let ua_public: [u8; 65] = arr(fixed_key(&ua_private).compute_public_key().unwrap().as_ref().to_vec());
        let auth = [9u8; 16];
        let text = "{\"title\":\"Lakeside Clinic\"}";
        let read = |body: &[u8]| -> Result<Vec<u8>, EceError> {
            let h = parse(body)?;
            let ua = fixed_key(&ua_private);
            let (cek, nonce) =
                agreement::agree_ephemeral(ua, &UnparsedPublicKey::new(&ECDH_P256, h.as_public), |e| {
                    derive(e, &auth, &ua_public, h.as_public, &h.salt)
                })??;
            open(&cek, &nonce, h.record)
        };
        let one = encrypt(&ua_public, &auth, text.as_bytes()).unwrap();
        let two = encrypt(&ua_public, &auth, text.as_bytes()).unwrap();
        assert_ne!(one, two, "a fresh key and salt every time");
        assert_eq!(one.len(), HEADER_LEN + text.len() + 1 + 16);
        assert_eq!(read(&one).unwrap(), text.as_bytes());
        let mut bad = one.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(read(&bad).unwrap_err().0, "the record does not decrypt with these keys");
        assert!(read(&one[..50]).unwrap_err().0.contains("too short"));
    }

    #[test]
    fn a_payload_too_big_for_one_record_is_refused_and_the_largest_fits() {
        let ua_public: [u8; 65] = arr(fixed_key(&[7u8; 32]).compute_public_key().unwrap().as_ref().to_vec());
        let body = encrypt(&ua_public, &[1; 16], &vec![b'x'; MAX_PLAINTEXT]).unwrap();
        assert_eq!(body.len(), RECORD_SIZE as usize);
        let e = encrypt(&ua_public, &[1; 16], &vec![b'x'; MAX_PLAINTEXT + 1]).unwrap_err();
        assert_eq!(e.0, "a push message holds at most 3993 bytes; this one has 3994");
        let e = encrypt(&[4u8; 65], &[1; 16], b"hi").unwrap_err();
        assert_eq!(e.0, "the subscription's public key is not a P-256 point");
    }
}

//! `X-Twilio-Signature`: HMAC-SHA1 keyed with the auth token over the full URL followed by
//! each POST parameter name and value, sorted by name (and, for repeated names, by value),
//! base64-encoded. <https://www.twilio.com/docs/usage/webhooks/webhooks-security>

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

fn mac_input(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut s = String::from(url);
    for (k, v) in sorted {
        s.push_str(k);
        s.push_str(v);
    }
    s
}

/// The signature Twilio would send for this request.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = match Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) {
        Ok(m) => m,
        // HMAC accepts keys of any length; this branch cannot be taken.
        Err(_) => return String::new(),
    };
    mac.update(mac_input(url, params).as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Constant-time check of `signature` for `url` and `params` against each of `tokens` (the
/// current auth token and, during a rotation, the previous one). The URL is also tried with
/// and without an explicit default port, as Twilio may sign either form.
pub fn verify(tokens: &[&str], url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(given) = STANDARD.decode(signature.trim()) else { return false };
    let urls = url_variants(url);
    tokens.iter().filter(|t| !t.is_empty()).any(|token| {
        urls.iter().any(|u| match Hmac::<Sha1>::new_from_slice(token.as_bytes()) {
            Ok(mut mac) => {
                mac.update(mac_input(u, params).as_bytes());
                mac.verify_slice(&given).is_ok()
            }
            Err(_) => false,
        })
    })
}

fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    let (scheme, default_port) = if url.starts_with("https://") {
        ("https://", ":443")
    } else if url.starts_with("http://") {
        ("http://", ":80")
    } else {
        return out;
    };
    let rest = &url[scheme.len()..];
    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(host_end);
    if let Some(bare) = host.strip_suffix(default_port) {
        out.push(format!("{scheme}{bare}{tail}"));
    } else if !host.contains(':') {
        out.push(format!("{scheme}{host}{default_port}{tail}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Twilio's published example.
    #[test]
    fn matches_twilios_published_example() {
        let params = p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675310"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(sign("12345", url, &params), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
        assert!(verify(&["12345"], url, &params, "GvWf1cFY/Q7PnoempGyD5oXAezc="));
    }

    #[test]
    fn order_of_parameters_does_not_matter_but_every_byte_does() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = p(&[
            ("To", "+18005551212"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("Caller", "+14158675310"),
            ("CallSid", "CA1234567890ABCDE"),
        ]);
        let good = "GvWf1cFY/Q7PnoempGyD5oXAezc=";
        assert!(verify(&["12345"], url, &params, good));
        assert!(!verify(&["12346"], url, &params, good), "wrong token");
        assert!(!verify(&["12345"], "https://mycompany.com/myapp.php?foo=1&bar=3", &params, good), "other URL");
        let mut tampered = params.clone();
        tampered[1].1 = "1235".into();
        assert!(!verify(&["12345"], url, &tampered, good), "changed parameter");
        assert!(!verify(&["12345"], url, &params, "not base64!"), "garbage signature");
        assert!(!verify(&[""], url, &params, good), "an empty token never verifies");
    }

    #[test]
    fn a_rotated_token_and_default_ports_are_accepted() {
        let params = p(&[("Body", "hi")]);
        let sig = sign("old-token", "https://sb.example.com/webhooks/twilio/sms", &params);
        assert!(verify(&["new-token", "old-token"], "https://sb.example.com/webhooks/twilio/sms", &params, &sig));
        assert!(verify(&["old-token"], "https://sb.example.com:443/webhooks/twilio/sms", &params, &sig));
        let sig_port = sign("t", "https://sb.example.com:443/x?y=1", &params);
        assert!(verify(&["t"], "https://sb.example.com/x?y=1", &params, &sig_port));
    }

    #[test]
    fn repeated_names_sign_every_value() {
        let url = "https://x.example/a";
        let one = p(&[("MediaUrl", "a"), ("MediaUrl", "b")]);
        let other = p(&[("MediaUrl", "a")]);
        assert_ne!(sign("t", url, &one), sign("t", url, &other));
        let reordered = p(&[("MediaUrl", "b"), ("MediaUrl", "a")]);
        assert_eq!(sign("t", url, &one), sign("t", url, &reordered));
    }
}

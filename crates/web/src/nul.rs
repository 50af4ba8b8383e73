//! A NUL character in what someone sends (a form field, a JSON string, a search) becomes
//! U+FFFD, the replacement character, before any handler reads it: PostgreSQL cannot store NUL
//! in text and refuses the whole statement, while SQLite would keep it, and both databases must
//! accept the same input. Twilio's webhooks are left as they came (their signatures cover the
//! exact bytes); their handlers replace NUL themselves.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Rewrites a body without NUL; `None` when it has none.
type Fix = fn(&[u8]) -> Option<Vec<u8>>;

/// `%00` (and a raw NUL byte) in form encoding; U+FFFD encoded.
const FORM_REPLACEMENT: &[u8] = b"%EF%BF%BD";

pub async fn replace_nul(req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/webhooks/twilio/") {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    if let Some(query) = parts.uri.query()
        && let Some(fixed) = form_without_nul(query.as_bytes())
    {
        let path_and_query = format!("{}?{}", parts.uri.path(), String::from_utf8_lossy(&fixed));
        let mut uri = parts.uri.clone().into_parts();
        uri.path_and_query = path_and_query.parse().ok();
        if let Ok(rebuilt) = Uri::from_parts(uri) {
            parts.uri = rebuilt;
        }
    }
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let fix: Fix = if content_type.starts_with("application/x-www-form-urlencoded") {
        form_without_nul
    } else if content_type.starts_with("application/json") {
        json_without_nul
    } else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    // Only a body of a stated length within the limit is read here; any other goes on as it
    // is, for the handler to refuse in its own words (413 as JSON in the API).
    let length = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if length.is_none_or(|n| n > crate::app::BODY_LIMIT) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let bytes = match axum::body::to_bytes(body, crate::app::BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::BAD_REQUEST, "the request body could not be read").into_response(),
    };
    let bytes = match fix(&bytes) {
        Some(fixed) => {
            parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(fixed.len()));
            Bytes::from(fixed)
        }
        None => bytes,
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Form encoding (a query string or a form body) with `%00` and raw NUL bytes replaced;
/// `None` when there is none.
fn form_without_nul(input: &[u8]) -> Option<Vec<u8>> {
    let nul_at = |i: usize| input[i] == 0 || (input[i] == b'%' && input.get(i + 1..i + 3) == Some(b"00"));
    if !(0..input.len()).any(nul_at) {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() + 16);
    let mut i = 0;
    while i < input.len() {
        if input[i] == 0 {
            out.extend_from_slice(FORM_REPLACEMENT);
            i += 1;
        } else if nul_at(i) {
            out.extend_from_slice(FORM_REPLACEMENT);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

/// JSON with every `\u0000` escape replaced by `\uFFFD` (an escaped backslash followed by
/// `u0000` is text, and stays); `None` when there is none.
fn json_without_nul(input: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'\\' {
            let escape = input.get(i..i + 6);
            if escape.is_some_and(|e| e[1] == b'u' && &e[2..] == b"0000") {
                let out = out.get_or_insert_with(|| input[..i].to_vec());
                out.extend_from_slice(b"\\uFFFD");
                i += 6;
                continue;
            }
            // Any other escape: both bytes as they are.
            let end = (i + 2).min(input.len());
            if let Some(out) = out.as_mut() {
                out.extend_from_slice(&input[i..end]);
            }
            i = end;
            continue;
        }
        if let Some(out) = out.as_mut() {
            out.push(input[i]);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoded_nul_becomes_the_replacement_character() {
        assert_eq!(form_without_nul(b"q=ab&x=1"), None);
        assert_eq!(form_without_nul(b"q=a%00b").as_deref(), Some(&b"q=a%EF%BF%BDb"[..]));
        assert_eq!(form_without_nul(b"q=%00%00").as_deref(), Some(&b"q=%EF%BF%BD%EF%BF%BD"[..]));
        assert_eq!(form_without_nul(b"q=a\0b").as_deref(), Some(&b"q=a%EF%BF%BDb"[..]));
        assert_eq!(form_without_nul(b"q=100%2500"), None, "an encoded percent sign is not a NUL");
        let decoded: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&form_without_nul(b"note=a%00b").unwrap()).unwrap();
        assert_eq!(decoded, vec![("note".to_string(), "a\u{FFFD}b".to_string())]);
    }

    #[test]
    fn json_nul_escapes_become_the_replacement_character_and_nothing_else_changes() {
        assert_eq!(json_without_nul(br#"{"a":"b"}"#), None);
        let fixed = json_without_nul(br#"{"note":"a\u0000b","n":"\\u0000 is text"}"#).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&fixed).unwrap();
        assert_eq!(value["note"], "a\u{FFFD}b");
        assert_eq!(value["n"], "\\u0000 is text", "an escaped backslash then u0000 stays text");
        assert_eq!(json_without_nul(br#"{"a":"\"\u0000"}"#).as_deref(), Some(&br#"{"a":"\"\uFFFD"}"#[..]));
    }
}

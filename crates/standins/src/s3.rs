//! An S3-compatible bucket on loopback: path-style `PUT`, `GET` and `DELETE` of objects, each
//! request's AWS Signature Version 4 checked, S3's XML errors. Objects live in memory.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use switchboard_core::providers::s3::{S3Config, SigningInput, authorization, hex_sha256};
use tokio::net::TcpListener;

#[derive(Clone)]
pub struct S3Standin {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

struct Inner {
    bucket: String,
    region: String,
    access_key: String,
    secret_key: String,
    objects: Mutex<HashMap<String, (Vec<u8>, String)>>,
    /// Status codes to answer the next requests with (to simulate an outage).
    fail_next: Mutex<Vec<u16>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n.div_ceil(2)];
    rand::fill(&mut bytes[..]);
    bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()[..n].to_string()
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

impl S3Standin {
    /// Starts the stand-in on `bind` (port 0 for any free port) with one bucket and fresh keys.
    pub async fn start(bind: SocketAddr) -> std::io::Result<S3Standin> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            bucket: "switchboard".into(),
            region: "us-east-1".into(),
            access_key: format!("AKIA{}", random_hex(16).to_uppercase()),
            secret_key: random_hex(40),
            objects: Mutex::new(HashMap::new()),
            fail_next: Mutex::new(Vec::new()),
        });
        let standin = S3Standin { inner, addr };
        let app = Router::new()
            .route("/{bucket}/{*key}", put(put_object).get(get_object).delete(delete_object))
            .with_state(standin.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "s3 stand-in stopped");
            }
        });
        Ok(standin)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Settings that reach this bucket.
    pub fn config(&self) -> S3Config {
        S3Config {
            endpoint: self.base_url(),
            bucket: self.inner.bucket.clone(),
            region: self.inner.region.clone(),
            access_key: self.inner.access_key.clone(),
            secret_key: self.inner.secret_key.clone(),
        }
    }

    /// Keys of the stored objects, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = lock(&self.inner.objects).keys().cloned().collect();
        keys.sort();
        keys
    }

    /// An object's bytes and content type.
    pub fn object(&self, key: &str) -> Option<(Vec<u8>, String)> {
        lock(&self.inner.objects).get(key).cloned()
    }

    /// The next request is answered with this status (S3's `InternalError` for 5xx).
    pub fn fail_next(&self, status: u16) {
        lock(&self.inner.fail_next).push(status);
    }

    /// Checks the request's SigV4 `Authorization` header the way S3 does.
    fn verify(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), Box<Response>> {
        let denied = |code: &str, msg: &str| Box::new(s3_error(StatusCode::FORBIDDEN, code, msg));
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| denied("AccessDenied", "Anonymous access is forbidden for this operation"))?;
        let rest = auth
            .strip_prefix("AWS4-HMAC-SHA256 ")
            .ok_or_else(|| denied("InvalidArgument", "Unsupported Authorization Type"))?;
        let mut credential = None;
        let mut signed = None;
        for part in rest.split(',').map(str::trim) {
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            }
        }
        let (Some(credential), Some(signed)) = (credential, signed) else {
            return Err(denied("AuthorizationHeaderMalformed", "The authorization header is malformed"));
        };
        let mut cred = credential.split('/');
        let (access_key, _date, region) = (cred.next(), cred.next(), cred.next());
        if access_key != Some(self.inner.access_key.as_str()) {
            return Err(denied(
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            ));
        }
        if region != Some(self.inner.region.as_str()) {
            return Err(denied("AuthorizationHeaderMalformed", "the region is wrong"));
        }
        let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let payload = value("x-amz-content-sha256").unwrap_or_default();
        if payload != hex_sha256(body) {
            return Err(Box::new(s3_error(
                StatusCode::BAD_REQUEST,
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )));
        }
        let amz_date = value("x-amz-date").unwrap_or_default();
        let mut signed_headers = Vec::new();
        for name in signed.split(';') {
            let v = value(name).ok_or_else(|| denied("SignatureDoesNotMatch", "a signed header is missing"))?;
            signed_headers.push((name.to_string(), v));
        }
        for required in ["host", "x-amz-content-sha256", "x-amz-date"] {
            if !signed_headers.iter().any(|(k, _)| k == required) {
                return Err(denied(
                    "SignatureDoesNotMatch",
                    "host, x-amz-content-sha256 and x-amz-date must be signed",
                ));
            }
        }
        let expected = authorization(&SigningInput {
            method: method.as_str(),
            canonical_uri: uri.path(),
            headers: &signed_headers,
            payload_sha256: &payload,
            amz_date: &amz_date,
            region: &self.inner.region,
            access_key: &self.inner.access_key,
            secret_key: &self.inner.secret_key,
        });
        let normalized: String = auth.split(',').map(str::trim).collect::<Vec<_>>().join(",");
        if expected != normalized {
            return Err(denied(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            ));
        }
        Ok(())
    }

    fn check(
        &self,
        bucket: &str,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Box<Response>> {
        if let Some(status) = lock(&self.inner.fail_next).pop() {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Err(Box::new(s3_error(
                status,
                "InternalError",
                "We encountered an internal error. Please try again.",
            )));
        }
        self.verify(method, uri, headers, body)?;
        if bucket != self.inner.bucket {
            return Err(Box::new(s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchBucket",
                "The specified bucket does not exist",
            )));
        }
        Ok(())
    }
}

async fn put_object(
    State(s): State<S3Standin>,
    Path((bucket, key)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = s.check(&bucket, &method, &uri, &headers, &body) {
        return *r;
    }
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("binary/octet-stream").to_string();
    let etag = format!("\"{}\"", &hex_sha256(&body)[..32]);
    lock(&s.inner.objects).insert(key, (body.to_vec(), content_type));
    (StatusCode::OK, [(header::ETAG, etag)]).into_response()
}

async fn get_object(
    State(s): State<S3Standin>,
    Path((bucket, key)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = s.check(&bucket, &method, &uri, &headers, &body) {
        return *r;
    }
    match s.object(&key) {
        Some((bytes, content_type)) => (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        None => s3_error(StatusCode::NOT_FOUND, "NoSuchKey", "The specified key does not exist."),
    }
}

async fn delete_object(
    State(s): State<S3Standin>,
    Path((bucket, key)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = s.check(&bucket, &method, &uri, &headers, &body) {
        return *r;
    }
    lock(&s.inner.objects).remove(&key);
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::providers::s3::S3Store;

    #[tokio::test]
    async fn the_real_client_round_trips_and_bad_credentials_are_refused() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let standin = S3Standin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let store = S3Store::new(standin.config()).unwrap();
        store.put("photos/1/2/a.png", b"png-bytes", "image/png").await.unwrap();
        assert_eq!(standin.keys(), ["photos/1/2/a.png"]);
        assert_eq!(standin.object("photos/1/2/a.png").unwrap().1, "image/png");
        assert_eq!(store.get("photos/1/2/a.png").await.unwrap(), b"png-bytes");
        assert!(matches!(store.get("photos/none.png").await, Err(switchboard_core::Error::NotFound)));
        store.delete("photos/1/2/a.png").await.unwrap();
        assert!(standin.keys().is_empty());

        let mut wrong = standin.config();
        wrong.secret_key = "not-the-secret".into();
        let err = S3Store::new(wrong).unwrap().put("x.png", b"x", "image/png").await.unwrap_err().to_string();
        assert!(err.contains("SignatureDoesNotMatch"), "{err}");
        let mut wrong = standin.config();
        wrong.access_key = "AKIANOBODY".into();
        let err = S3Store::new(wrong).unwrap().get("x.png").await.unwrap_err().to_string();
        assert!(err.contains("InvalidAccessKeyId"), "{err}");
        let mut wrong = standin.config();
        wrong.bucket = "other".into();
        let err = S3Store::new(wrong).unwrap().put("x.png", b"x", "image/png").await.unwrap_err().to_string();
        assert!(err.contains("NoSuchBucket"), "{err}");
        standin.fail_next(503);
        let err = store.put("x.png", b"x", "image/png").await.unwrap_err().to_string();
        assert!(err.contains("InternalError"), "{err}");
        assert!(standin.keys().is_empty());
        // An unsigned request is refused.
        let resp =
            reqwest::Client::new().get(format!("{}/switchboard/x.png", standin.base_url())).send().await.unwrap();
        assert_eq!(resp.status(), 403);
    }
}

//! S3-compatible object storage (AWS S3, MinIO, Cloudflare R2, Backblaze B2, Wasabi...):
//! `PUT`, `GET` and `DELETE` of single objects, path-style (`{endpoint}/{bucket}/{key}`),
//! signed with AWS Signature Version 4.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

#[derive(Clone)]
pub struct S3Config {
    /// `https://s3.us-east-1.amazonaws.com`, `http://127.0.0.1:9000`; no trailing slash.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &"***")
            .finish()
    }
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail; if it did, the signature would be
    // wrong and the provider's refusal would say so.
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// RFC 3986 encoding as SigV4 wants it: unreserved characters stay, `/` stays in paths.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// What a request signature covers.
pub struct SigningInput<'a> {
    pub method: &'a str,
    /// Already URI-encoded absolute path.
    pub canonical_uri: &'a str,
    /// Lower-case names with trimmed values; `host`, `x-amz-content-sha256` and `x-amz-date`
    /// must be among them.
    pub headers: &'a [(String, String)],
    pub payload_sha256: &'a str,
    /// `20130524T000000Z`.
    pub amz_date: &'a str,
    pub region: &'a str,
    pub access_key: &'a str,
    pub secret_key: &'a str,
}

/// The `Authorization` header value for the request (service `s3`, empty query string).
pub fn authorization(input: &SigningInput<'_>) -> String {
    let mut headers: Vec<(String, String)> =
        input.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string())).collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    let canonical_request = format!(
        "{}\n{}\n\n{canonical_headers}\n{signed_headers}\n{}",
        input.method, input.canonical_uri, input.payload_sha256
    );
    let date = &input.amz_date[..8.min(input.amz_date.len())];
    let scope = format!("{date}/{}/s3/aws4_request", input.region);
    let string_to_sign =
        format!("AWS4-HMAC-SHA256\n{}\n{scope}\n{}", input.amz_date, hex_sha256(canonical_request.as_bytes()));
    let k_date = hmac(format!("AWS4{}", input.secret_key).as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, input.region.as_bytes());
    let k_service = hmac(&k_region, b"s3");
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex(&hmac(&k_signing, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope},SignedHeaders={signed_headers},Signature={signature}",
        input.access_key
    )
}

/// A bucket reached over HTTP.
#[derive(Debug, Clone)]
pub struct S3Store {
    config: S3Config,
    http: reqwest::Client,
}

impl S3Store {
    pub fn new(config: S3Config) -> Result<S3Store> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Unexpected(format!("S3 client: {e}")))?;
        Ok(S3Store { config, http })
    }

    pub fn describe(&self) -> String {
        format!("s3://{} at {}", self.config.bucket, self.config.endpoint)
    }

    fn request(
        &self,
        method: reqwest::Method,
        key: &str,
        body: Vec<u8>,
        content_type: Option<&str>,
    ) -> Result<reqwest::RequestBuilder> {
        let path = format!("/{}/{}", self.config.bucket, key);
        let url = format!("{}{}", self.config.endpoint, uri_encode(&path, true));
        let parsed = reqwest::Url::parse(&url).map_err(|e| Error::Unexpected(format!("S3 URL {url}: {e}")))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return Err(Error::Unexpected(format!("S3 URL without a host: {url}"))),
        };
        let amz_date = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
        let payload = hex_sha256(&body);
        let mut headers = vec![
            ("host".to_string(), host),
            ("x-amz-content-sha256".to_string(), payload.clone()),
            ("x-amz-date".to_string(), amz_date.clone()),
        ];
        if let Some(ct) = content_type {
            headers.push(("content-type".to_string(), ct.to_string()));
        }
        let auth = authorization(&SigningInput {
            method: method.as_str(),
            canonical_uri: &uri_encode(&path, true),
            headers: &headers,
            payload_sha256: &payload,
            amz_date: &amz_date,
            region: &self.config.region,
            access_key: &self.config.access_key,
            secret_key: &self.config.secret_key,
        });
        let mut req = self.http.request(method, parsed).header("authorization", auth);
        for (k, v) in headers.into_iter().filter(|(k, _)| k != "host") {
            req = req.header(k, v);
        }
        Ok(req.body(body))
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response> {
        let resp = req.send().await.map_err(|e| Error::Unexpected(format!("S3 {what}: {e}")))?;
        Ok(resp)
    }

    pub async fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<()> {
        let req = self.request(reqwest::Method::PUT, key, bytes.to_vec(), Some(content_type))?;
        let resp = self.send(req, "PUT").await?;
        if !resp.status().is_success() {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            return Err(Error::Unexpected(format!("S3 PUT {key}: {status}: {}", s3_error(&body))));
        }
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let req = self.request(reqwest::Method::GET, key, Vec::new(), None)?;
        let resp = self.send(req, "GET").await?;
        match resp.status() {
            s if s.is_success() => {
                Ok(resp.bytes().await.map_err(|e| Error::Unexpected(format!("S3 GET {key}: {e}")))?.to_vec())
            }
            reqwest::StatusCode::NOT_FOUND => Err(Error::NotFound),
            s => {
                let body = resp.text().await.unwrap_or_default();
                Err(Error::Unexpected(format!("S3 GET {key}: {s}: {}", s3_error(&body))))
            }
        }
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        let req = self.request(reqwest::Method::DELETE, key, Vec::new(), None)?;
        let resp = self.send(req, "DELETE").await?;
        if resp.status().is_success() || resp.status() == reqwest::StatusCode::NOT_FOUND {
            Ok(())
        } else {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            Err(Error::Unexpected(format!("S3 DELETE {key}: {status}: {}", s3_error(&body))))
        }
    }
}

/// The `<Code>` and `<Message>` of an S3 XML error body, for logs.
fn s3_error(body: &str) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = body.find(&open)? + open.len();
        let end = body[start..].find(&format!("</{name}>"))? + start;
        Some(body[start..end].to_string())
    };
    match (tag("Code"), tag("Message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        _ => body.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example "GET Object" (Signature Version 4, header-based authentication).
    #[test]
    fn signs_awss_published_get_object_example() {
        let empty = hex_sha256(b"");
        assert_eq!(empty, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let headers = vec![
            ("Host".to_string(), "examplebucket.s3.amazonaws.com".to_string()),
            ("Range".to_string(), "bytes=0-9".to_string()),
            ("x-amz-content-sha256".to_string(), empty.clone()),
            ("x-amz-date".to_string(), "20130524T000000Z".to_string()),
        ];
        let auth = authorization(&SigningInput {
            method: "GET",
            canonical_uri: "/test.txt",
            headers: &headers,
            payload_sha256: &empty,
            amz_date: "20130524T000000Z",
            region: "us-east-1",
            access_key: "AKIAIOSFODNN7EXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        });
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn paths_are_encoded_the_sigv4_way() {
        assert_eq!(uri_encode("/bucket/photos/1/a b+c.jpg", true), "/bucket/photos/1/a%20b%2Bc.jpg");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(uri_encode("~-._AZaz09", true), "~-._AZaz09");
    }

    #[test]
    fn error_bodies_read_well_in_logs() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The bucket does not exist</Message></Error>";
        assert_eq!(s3_error(xml), "NoSuchBucket: The bucket does not exist");
        let secret = S3Config {
            endpoint: "http://x".into(),
            bucket: "b".into(),
            region: "r".into(),
            access_key: "AK".into(),
            secret_key: "hunter2".into(),
        };
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}

//! Pages over SNPP, the Simple Network Paging Protocol (RFC 1861), level 1: connect to the
//! paging company's server (`snpp://host:444`), `PAGE <pager id>`, `MESS <text>`, `SEND`,
//! `QUIT`, each answered with a three-digit code (2xx: go on; 4xx: try later; 5xx: refused for
//! good). Paging companies that take pages by email need none of this: their pagers have an
//! email address and pages go as email.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::SendError;

/// SNPP's registered port.
pub const DEFAULT_PORT: u16 = 444;
/// The most one exchange may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Where pages go: `snpp://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnppServer {
    pub host: String,
    pub port: u16,
}

impl SnppServer {
    pub fn parse(url: &str) -> Result<SnppServer, String> {
        let rest = url
            .trim()
            .strip_prefix("snpp://")
            .ok_or_else(|| format!("{url} is not an snpp:// URL (like snpp://paging.example.com:444)"))?
            .trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("{p} is not a port number"))?),
            None => (rest, DEFAULT_PORT),
        };
        if host.is_empty() || host.contains('/') {
            return Err(format!("{url} has no host"));
        }
        Ok(SnppServer { host: host.to_string(), port })
    }
}

impl std::fmt::Display for SnppServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "snpp://{}:{}", self.host, self.port)
    }
}

/// What goes on one SNPP line: no line breaks or control characters.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out.trim().to_string()
}

/// Sends one page; returns the server's answer to `SEND` (e.g. `250 Message Sent Successfully`).
pub async fn send_page(server: &SnppServer, pager_id: &str, text: &str) -> Result<String, SendError> {
    match tokio::time::timeout(TIMEOUT, exchange(server, pager_id, text)).await {
        Ok(r) => r,
        Err(_) => Err(SendError::Transient(format!("the paging server {server} did not answer in time"))),
    }
}

async fn exchange(server: &SnppServer, pager_id: &str, text: &str) -> Result<String, SendError> {
    let stream = TcpStream::connect((server.host.as_str(), server.port))
        .await
        .map_err(|e| SendError::Transient(format!("cannot reach the paging server {server}: {e}")))?;
    stream.set_nodelay(true).ok();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut answer = async || -> Result<(u16, String), SendError> {
        let line = lines
            .next_line()
            .await
            .map_err(|e| SendError::Transient(format!("the paging server {server} dropped the line: {e}")))?
            .ok_or_else(|| SendError::Transient(format!("the paging server {server} closed the connection")))?;
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok()).ok_or_else(|| {
            SendError::Transient(format!("the paging server {server} answered something that is not SNPP: {line}"))
        })?;
        Ok((code, line))
    };
    let check = |(code, line): (u16, String)| -> Result<String, SendError> {
        match code {
            200..=299 => Ok(line),
            500..=599 => Err(SendError::Rejected { code: Some(i64::from(code)), message: line }),
            _ => Err(SendError::Transient(format!("the paging server said: {line}"))),
        }
    };
    check(answer().await?)?;
    for command in [format!("PAGE {}", one_line(pager_id)), format!("MESS {}", one_line(text))] {
        write
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .map_err(|e| SendError::Transient(format!("cannot write to the paging server {server}: {e}")))?;
        check(answer().await?)?;
    }
    write
        .write_all(b"SEND\r\n")
        .await
        .map_err(|e| SendError::Transient(format!("cannot write to the paging server {server}: {e}")))?;
    let sent = check(answer().await?)?;
    // The page is in; a failed goodbye changes nothing.
    if write.write_all(b"QUIT\r\n").await.is_ok() {
        let _ = answer().await;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_server_url_names_host_and_port_with_444_by_default() {
        assert_eq!(
            SnppServer::parse("snpp://paging.example.com").unwrap(),
            SnppServer { host: "paging.example.com".into(), port: 444 }
        );
        assert_eq!(SnppServer::parse("snpp://127.0.0.1:4444/").unwrap().to_string(), "snpp://127.0.0.1:4444");
        assert_eq!(
            SnppServer::parse("http://paging.example.com").unwrap_err(),
            "http://paging.example.com is not an snpp:// URL (like snpp://paging.example.com:444)"
        );
        assert_eq!(SnppServer::parse("snpp://host:x").unwrap_err(), "x is not a port number");
    }

    #[test]
    fn a_page_is_one_line() {
        assert_eq!(one_line("Leak in unit 4\r\nCall back\tsoon "), "Leak in unit 4 Call back soon");
    }
}

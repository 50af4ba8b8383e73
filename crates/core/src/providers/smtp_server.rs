//! A small SMTP server (RFC 5321: HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) that hands
//! each accepted message to a [`Mailbox`]. Used for inbound email (`--smtp-listen`) and by the
//! SMTP sink stand-in. Recipients are checked at `RCPT`, so mail for unknown addresses is
//! refused during the session rather than bounced later. A message is acknowledged (`250`)
//! only after the mailbox stored it. No STARTTLS: put a relay in front for mail from the
//! internet.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::engine::BoxFuture;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent (headers and body), dot-unstuffed, CRLF line ends.
    pub data: Vec<u8>,
    pub peer: SocketAddr,
}

pub trait Mailbox: Send + Sync + 'static {
    /// Whether mail for `rcpt` (lower-cased address) is accepted.
    fn accepts(&self, rcpt: String) -> BoxFuture<bool>;
    /// Stores a message; `Err` makes the server answer 451 (the sender retries later).
    fn deliver(&self, mail: ReceivedMail) -> BoxFuture<Result<(), String>>;
}

/// Largest message accepted (10 MiB).
pub const MAX_MESSAGE: usize = 10 * 1024 * 1024;
const MAX_RECIPIENTS: usize = 100;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Accepts connections until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    mailbox: Arc<dyn Mailbox>,
    hostname: String,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let mailbox = mailbox.clone();
                    let hostname = hostname.clone();
                    tokio::spawn(async move {
                        if let Err(e) = session(stream, peer, mailbox, &hostname).await {
                            tracing::debug!(%peer, error = %e, "SMTP session ended with an error");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "SMTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

/// `<a@b>` (with optional ESMTP parameters after it) -> `a@b`, lower-cased. `<>` -> "".
fn path_arg(rest: &str) -> Option<String> {
    let rest = rest.trim();
    let start = rest.find('<')?;
    let end = rest[start..].find('>')? + start;
    Some(rest[start + 1..end].trim().to_lowercase())
}

async fn session(
    stream: TcpStream,
    peer: SocketAddr,
    mailbox: Arc<dyn Mailbox>,
    hostname: &str,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(format!("220 {hostname} ESMTP Switchboard\r\n").as_bytes()).await?;
    let mut from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = match tokio::time::timeout(COMMAND_TIMEOUT, reader.read_line(&mut line)).await {
            Ok(r) => r?,
            Err(_) => {
                write.write_all(b"421 4.4.2 Timeout, closing connection\r\n").await?;
                return Ok(());
            }
        };
        if n == 0 {
            return Ok(());
        }
        let cmd = line.trim_end_matches(['\r', '\n']);
        let upper = cmd.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            format!("250-{hostname} greets you\r\n250-SIZE {MAX_MESSAGE}\r\n250-8BITMIME\r\n250 PIPELINING\r\n")
        } else if upper.starts_with("HELO") {
            format!("250 {hostname}\r\n")
        } else if upper.starts_with("MAIL FROM:") {
            match path_arg(&cmd[10..]) {
                Some(addr) => {
                    from = Some(addr);
                    rcpts.clear();
                    "250 2.1.0 OK\r\n".into()
                }
                None => "501 5.1.7 Bad sender address syntax\r\n".into(),
            }
        } else if upper.starts_with("RCPT TO:") {
            match (&from, path_arg(&cmd[8..])) {
                (None, _) => "503 5.5.1 MAIL first\r\n".into(),
                (_, None) => "501 5.1.3 Bad recipient address syntax\r\n".into(),
                (_, Some(_)) if rcpts.len() >= MAX_RECIPIENTS => "452 4.5.3 Too many recipients\r\n".into(),
                (_, Some(addr)) => {
                    if mailbox.accepts(addr.clone()).await {
                        rcpts.push(addr);
                        "250 2.1.5 OK\r\n".into()
                    } else {
                        "550 5.1.1 No such mailbox here\r\n".into()
                    }
                }
            }
        } else if upper == "DATA" {
            if from.is_none() || rcpts.is_empty() {
                "503 5.5.1 Need MAIL and RCPT first\r\n".into()
            } else {
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let (data, too_big) = read_data(&mut reader).await?;
                let mail_from = from.take().unwrap_or_default();
                let rcpt_to = std::mem::take(&mut rcpts);
                if too_big {
                    "552 5.3.4 Message too big\r\n".into()
                } else {
                    match mailbox.deliver(ReceivedMail { mail_from, rcpt_to, data, peer }).await {
                        Ok(()) => "250 2.0.0 OK: queued\r\n".into(),
                        Err(e) => {
                            tracing::error!(error = %e, "storing inbound mail failed");
                            "451 4.3.0 Temporary failure, try again later\r\n".into()
                        }
                    }
                }
            }
        } else if upper == "RSET" {
            from = None;
            rcpts.clear();
            "250 2.0.0 OK\r\n".into()
        } else if upper == "NOOP" {
            "250 2.0.0 OK\r\n".into()
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else if upper.starts_with("STARTTLS") {
            "502 5.5.1 STARTTLS not supported here\r\n".into()
        } else {
            "502 5.5.2 Command not recognized\r\n".into()
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

/// Reads a DATA section up to the lone "." line, undoing dot-stuffing. Keeps reading past the
/// size limit (so the session stays in sync) but reports it.
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<(Vec<u8>, bool)> {
    let mut data = Vec::new();
    let mut too_big = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = tokio::time::timeout(COMMAND_TIMEOUT, reader.read_until(b'\n', &mut line))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "DATA timed out"))??;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed in DATA"));
        }
        let content = line.strip_suffix(b"\r\n").or_else(|| line.strip_suffix(b"\n")).unwrap_or(&line);
        if content == b"." {
            return Ok((data, too_big));
        }
        let content = content.strip_prefix(b".").unwrap_or(content);
        if data.len() + content.len() + 2 > MAX_MESSAGE {
            too_big = true;
        } else {
            data.extend_from_slice(content);
            data.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_from_angle_brackets() {
        assert_eq!(path_arg("<Jobs@Summit.example>").as_deref(), Some("jobs@summit.example"));
        assert_eq!(path_arg(" <a@b.example> SIZE=1234").as_deref(), Some("a@b.example"));
        assert_eq!(path_arg("<>").as_deref(), Some(""));
        assert_eq!(path_arg("a@b.example"), None);
    }

    #[tokio::test]
    async fn data_is_dot_unstuffed_and_ends_at_the_lone_dot() {
        let input: &[u8] = b"Subject: x\r\n\r\n..leading dot\r\nplain\r\n.\r\nQUIT\r\n";
        let mut reader = tokio::io::BufReader::new(input);
        let (data, too_big) = read_data(&mut reader).await.unwrap();
        assert!(!too_big);
        assert_eq!(data, b"Subject: x\r\n\r\n.leading dot\r\nplain\r\n");
    }
}

//! A paging server on loopback speaking SNPP (RFC 1861) level 1 as paging companies run it:
//! `PAGE <pager id>` (several before one message), `MESS <text>`, `SEND`, `RESE`, `HELP`,
//! `QUIT`, answered with the RFC's codes. Pages it accepted are kept for tests and the demo;
//! a pager id can be made unknown (550) and the next exchange can be made to fail (421).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// A page the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub pager_id: String,
    pub text: String,
}

#[derive(Default)]
struct Inner {
    pages: Mutex<Vec<Page>>,
    unknown: Mutex<Vec<String>>,
    busy_next: Mutex<usize>,
    changed: Notify,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Clone)]
pub struct SnppStandin {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

impl SnppStandin {
    /// Starts the server on `bind` (port 0 for any free port).
    pub async fn start(bind: SocketAddr) -> std::io::Result<SnppStandin> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner::default());
        let shared = inner.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let inner = shared.clone();
                        tokio::spawn(async move {
                            if let Err(e) = session(stream, &inner).await {
                                tracing::debug!(error = %e, "SNPP stand-in session ended");
                            }
                        });
                    }
                    Err(e) => tracing::warn!(error = %e, "SNPP stand-in accept failed"),
                }
            }
        });
        Ok(SnppStandin { inner, addr })
    }

    /// `snpp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("snpp://{}", self.addr)
    }

    /// Every page accepted so far, oldest first.
    pub fn pages(&self) -> Vec<Page> {
        lock(&self.inner.pages).clone()
    }

    /// `PAGE id` is answered 550 from now on.
    pub fn forget_pager(&self, id: &str) {
        lock(&self.inner.unknown).push(id.to_string());
    }

    /// The next `n` connections are greeted with 421 (service not available).
    pub fn busy_next(&self, n: usize) {
        *lock(&self.inner.busy_next) = n;
    }

    /// Waits (up to `timeout`) until at least `n` pages have been accepted.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Result<Vec<Page>, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            let pages = self.pages();
            if pages.len() >= n {
                return Ok(pages);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(format!("{} pages within {timeout:?}, not {n}", pages.len()));
            }
        }
    }
}

async fn session(stream: TcpStream, inner: &Inner) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let busy = {
        let mut b = lock(&inner.busy_next);
        let busy = *b > 0;
        *b = b.saturating_sub(1);
        busy
    };
    if busy {
        write.write_all(b"421 Too Many Connections, try again later\r\n").await?;
        return Ok(());
    }
    write.write_all(b"220 Switchboard SNPP stand-in (RFC 1861 level 1) ready\r\n").await?;
    let (mut pagers, mut message): (Vec<String>, Option<String>) = (Vec::new(), None);
    while let Some(line) = lines.next_line().await? {
        let (command, arg) = match line.split_once(' ') {
            Some((c, a)) => (c.to_ascii_uppercase(), a.trim().to_string()),
            None => (line.trim().to_ascii_uppercase(), String::new()),
        };
        let reply = match command.as_str() {
            "PAGE" if arg.is_empty() => "550 Error, Pager ID needed".to_string(),
            "PAGE" if !arg.bytes().all(|b| b.is_ascii_alphanumeric()) || lock(&inner.unknown).contains(&arg) => {
                "550 Error, Invalid Pager ID".to_string()
            }
            "PAGE" => {
                pagers.push(arg);
                "250 Pager ID Accepted".to_string()
            }
            "MESS" if arg.is_empty() => "550 Error, Message needed".to_string(),
            "MESS" if message.is_some() => "503 Error, Message Already Entered".to_string(),
            "MESS" => {
                message = Some(arg);
                "250 Message OK".to_string()
            }
            "SEND" => match (&message, pagers.is_empty()) {
                (_, true) => "503 Error, Pager ID needed".to_string(),
                (None, _) => "503 Error, Message needed".to_string(),
                (Some(text), false) => {
                    let mut pages = lock(&inner.pages);
                    for id in pagers.drain(..) {
                        pages.push(Page { pager_id: id, text: text.clone() });
                    }
                    drop(pages);
                    message = None;
                    inner.changed.notify_waiters();
                    "250 Message Sent Successfully".to_string()
                }
            },
            "RESE" => {
                pagers.clear();
                message = None;
                "250 Reset OK".to_string()
            }
            "HELP" => "214 PAGE <id>, MESS <text>, SEND, RESE, QUIT".to_string(),
            "QUIT" => {
                write.write_all(b"221 OK, Goodbye\r\n").await?;
                return Ok(());
            }
            _ => "500 Command Not Implemented, Try Again".to_string(),
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use switchboard_core::providers::SendError;
    use switchboard_core::providers::snpp::{SnppServer, send_page};

    #[tokio::test]
    async fn the_client_pages_through_the_stand_in_and_hears_its_refusals() {
        let s = SnppStandin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let server = SnppServer::parse(&s.url()).unwrap();
        let ok = send_page(&server, "3125550177", "Lakeside Clinic: call Jo Park\n(312) 555-0188").await.unwrap();
        assert_eq!(ok, "250 Message Sent Successfully");
        assert_eq!(
            s.pages(),
            [Page { pager_id: "3125550177".into(), text: "Lakeside Clinic: call Jo Park (312) 555-0188".into() }]
        );
        s.forget_pager("3125550177");
        assert_eq!(
            send_page(&server, "3125550177", "again").await.unwrap_err(),
            SendError::Rejected { code: Some(550), message: "550 Error, Invalid Pager ID".into() }
        );
        s.busy_next(1);
        assert_eq!(
            send_page(&server, "3125550178", "busy").await.unwrap_err(),
            SendError::Transient("the paging server said: 421 Too Many Connections, try again later".into())
        );
        send_page(&server, "3125550178", "now").await.unwrap();
        assert_eq!(s.pages().len(), 2);
    }
}

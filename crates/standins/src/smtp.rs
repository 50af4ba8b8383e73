//! An SMTP sink: accepts every message on loopback and keeps it, so tests (and the demo) can
//! see exactly what was sent over real SMTP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_core::engine::BoxFuture;
use switchboard_core::providers::smtp_server::{self, Mailbox, ReceivedMail};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

/// One message the sink received.
#[derive(Debug, Clone)]
pub struct SunkMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub from: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    /// The `text/html` part, when the mail has one.
    pub html: Option<String>,
    pub message_id: Option<String>,
    /// Attached files: (file name, content type, bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
    pub raw: Vec<u8>,
    /// When the sink received it.
    pub received_at: jiff::Timestamp,
}

#[derive(Default)]
struct Store {
    mails: Mutex<Vec<SunkMail>>,
    taken: Mutex<std::collections::HashMap<String, usize>>,
    changed: Notify,
}

struct Sink(Arc<Store>);

impl Mailbox for Sink {
    fn accepts(&self, _rcpt: String) -> BoxFuture<bool> {
        Box::pin(async { true })
    }
    fn deliver(&self, mail: ReceivedMail) -> BoxFuture<Result<(), String>> {
        let store = self.0.clone();
        Box::pin(async move {
            let parsed = mail_parser::MessageParser::default().parse(&mail.data[..]);
            let addr = |a: Option<&mail_parser::Address>| {
                a.and_then(|a| a.first()).and_then(|a| a.address()).map(str::to_string)
            };
            let sunk = SunkMail {
                mail_from: mail.mail_from,
                rcpt_to: mail.rcpt_to,
                from: addr(parsed.as_ref().and_then(|m| m.from())).unwrap_or_default(),
                reply_to: addr(parsed.as_ref().and_then(|m| m.reply_to())),
                subject: parsed.as_ref().and_then(|m| m.subject()).unwrap_or_default().to_string(),
                text: parsed
                    .as_ref()
                    .and_then(|m| m.body_text(0))
                    .map(|t| t.trim_end().to_string())
                    .unwrap_or_default(),
                html: parsed
                    .as_ref()
                    .and_then(|m| m.html_part(0))
                    .filter(|p| p.is_text_html())
                    .and_then(|p| p.text_contents())
                    .map(str::to_string),
                message_id: parsed.as_ref().and_then(|m| m.message_id()).map(|id| format!("<{id}>")),
                attachments: parsed
                    .as_ref()
                    .map(|m| {
                        use mail_parser::MimeHeaders;
                        m.attachments()
                            .map(|a| {
                                let kind = a
                                    .content_type()
                                    .map(|t| match t.subtype() {
                                        Some(sub) => format!("{}/{sub}", t.ctype()),
                                        None => t.ctype().to_string(),
                                    })
                                    .unwrap_or_default();
                                (a.attachment_name().unwrap_or_default().to_string(), kind, a.contents().to_vec())
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                raw: mail.data,
                received_at: jiff::Timestamp::now(),
            };
            store.mails.lock().unwrap_or_else(|p| p.into_inner()).push(sunk);
            store.changed.notify_waiters();
            Ok(())
        })
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    store: Arc<Store>,
    addr: SocketAddr,
    _stop: Arc<watch::Sender<bool>>,
}

impl SmtpSink {
    pub async fn start(bind: SocketAddr) -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let store = Arc::new(Store::default());
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(smtp_server::serve(listener, Arc::new(Sink(store.clone())), "sink.localhost".into(), stopped));
        Ok(SmtpSink { store, addr, _stop: Arc::new(stop) })
    }

    /// `smtp://127.0.0.1:PORT`: plain SMTP on loopback.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn mails(&self) -> Vec<SunkMail> {
        self.store.mails.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits for the next message to `rcpt` not yet taken.
    pub async fn expect_mail(&self, rcpt: &str, timeout: Duration) -> Result<SunkMail, String> {
        let rcpt = rcpt.to_lowercase();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.store.changed.notified();
            {
                let to_rcpt: Vec<SunkMail> = self.mails().into_iter().filter(|m| m.rcpt_to.contains(&rcpt)).collect();
                let mut taken = self.store.taken.lock().unwrap_or_else(|p| p.into_inner());
                let seen = taken.entry(rcpt.clone()).or_insert(0);
                if let Some(m) = to_rcpt.get(*seen) {
                    *seen += 1;
                    return Ok(m.clone());
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(format!("no mail to {rcpt} within {timeout:?}"));
            }
        }
    }
}

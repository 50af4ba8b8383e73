//! Email out over SMTP (lettre), with plain, STARTTLS or implicit TLS chosen by the URL:
//! `smtp://host:25` (no TLS, for a local relay), `smtp://user:pass@host:587?tls=required`
//! (STARTTLS), `smtps://user:pass@host:465` (TLS).

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MessageBuilder, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Accepted, SendError};
use crate::engine::BoxFuture;

#[derive(Debug, Clone)]
pub struct OutboundEmail {
    /// `Name <address>` or a bare address.
    pub from: String,
    pub reply_to: Option<String>,
    pub to: String,
    pub subject: String,
    pub text: String,
    /// An HTML version: sent as multipart/alternative with the text.
    pub html: Option<String>,
    /// A stable Message-ID (`<...>`), the same on every retry, so a duplicate after a crash
    /// is recognisable as the same message.
    pub message_id: String,
    /// Files sent with it (multipart/mixed).
    pub attachments: Vec<Attachment>,
}

/// A file sent with an email (a fax's PDF, later an invoice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

pub trait EmailProvider: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn send(&self, email: OutboundEmail) -> BoxFuture<Result<Accepted, SendError>>;
}

#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpMailer")
    }
}

impl SmtpMailer {
    /// A mailer for an `smtp://` or `smtps://` URL (credentials may be in the URL).
    pub fn from_url(url: &str) -> Result<SmtpMailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("invalid SMTP URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        Ok(SmtpMailer { transport })
    }
}

fn mailbox(s: &str, field: &str) -> Result<Mailbox, SendError> {
    s.parse::<Mailbox>()
        .map_err(|e| SendError::Rejected { code: None, message: format!("invalid {field} address {s:?}: {e}") })
}

impl EmailProvider for SmtpMailer {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn send(&self, email: OutboundEmail) -> BoxFuture<Result<Accepted, SendError>> {
        let transport = self.transport.clone();
        Box::pin(async move {
            let mut builder: MessageBuilder = lettre::Message::builder()
                .from(mailbox(&email.from, "from")?)
                .to(mailbox(&email.to, "to")?)
                .subject(email.subject.clone())
                .message_id(Some(email.message_id.clone()));
            if let Some(r) = &email.reply_to {
                builder = builder.reply_to(mailbox(r, "reply-to")?);
            }
            let built = match (&email.html, email.attachments.is_empty()) {
                (Some(html), true) => {
                    builder.multipart(MultiPart::alternative_plain_html(email.text.clone(), html.clone()))
                }
                (None, true) => builder.header(ContentType::TEXT_PLAIN).body(email.text.clone()),
                (html, false) => {
                    let mut mixed = match html {
                        Some(h) => MultiPart::mixed()
                            .multipart(MultiPart::alternative_plain_html(email.text.clone(), h.clone())),
                        None => MultiPart::mixed().singlepart(SinglePart::plain(email.text.clone())),
                    };
                    for a in &email.attachments {
                        let kind = ContentType::parse(&a.content_type).map_err(|e| SendError::Rejected {
                            code: None,
                            message: format!("attachment {} has a bad content type: {e}", a.filename),
                        })?;
                        mixed = mixed.singlepart(
                            lettre::message::Attachment::new(a.filename.clone()).body(a.bytes.clone(), kind),
                        );
                    }
                    builder.multipart(mixed)
                }
            };
            let message = built
                .map_err(|e| SendError::Rejected { code: None, message: format!("cannot build the email: {e}") })?;
            match transport.send(message).await {
                Ok(_) => Ok(Accepted { provider_id: email.message_id, status: "sent".into() }),
                Err(e) if e.is_permanent() => Err(SendError::Rejected {
                    code: e.status().map(|c| i64::from(u16::from(c))),
                    message: e.to_string(),
                }),
                Err(e) => Err(SendError::Transient(format!("SMTP: {e}"))),
            }
        })
    }
}

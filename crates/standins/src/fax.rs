//! An email-to-fax gateway as RingCentral, eFax or InterFAX run one, over the SMTP sink: mail
//! to `<number>@<gateway domain>` is a fax to that number, its PDF attachment the pages. The
//! gateway reads what a fax machine would print: each page's lines, from the PDF. A mail with
//! no readable PDF is a fax that fails, with why (real gateways email that back).

use std::time::Duration;

use crate::smtp::{SmtpSink, SunkMail};

/// A fax as the gateway sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fax {
    /// The number dialled: the address's digits (`13125550199`).
    pub number: String,
    /// Who sent it (the mail's `From`).
    pub from: String,
    /// The lines of each page, the footer included.
    pub pages: Vec<Vec<String>>,
}

/// The gateway for `domain` (e.g. `fax.gateway.example`) over the mail in `sink`.
#[derive(Clone)]
pub struct FaxGateway {
    sink: SmtpSink,
    domain: String,
}

impl FaxGateway {
    pub fn over(sink: &SmtpSink, domain: &str) -> FaxGateway {
        FaxGateway { sink: sink.clone(), domain: domain.to_ascii_lowercase() }
    }

    /// `{number}@domain`: the address pattern the app's `SWITCHBOARD_FAX_GATEWAY` takes.
    pub fn pattern(&self) -> String {
        format!("{{number}}@{}", self.domain)
    }

    /// Reads one mail as the gateway would: the fax it sends, or why it cannot.
    pub fn read(&self, mail: &SunkMail) -> Result<Fax, String> {
        let rcpt = mail
            .rcpt_to
            .iter()
            .find(|r| r.to_ascii_lowercase().ends_with(&format!("@{}", self.domain)))
            .ok_or_else(|| format!("not addressed to the gateway {}", self.domain))?;
        let number = rcpt.split('@').next().unwrap_or_default();
        if number.len() < 7 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{number} is not a fax number (digits with the country code)"));
        }
        let pdfs: Vec<_> = mail.attachments.iter().filter(|(_, kind, _)| kind == "application/pdf").collect();
        let [(_, _, pdf)] = pdfs.as_slice() else {
            return Err(format!("{} PDF attachments: a fax needs exactly one", pdfs.len()));
        };
        let lines = switchboard_core::pdf::lines_of(pdf)?;
        let mut pages = vec![Vec::new()];
        for line in lines {
            let footer = line.starts_with("Page ") && line.contains(" of ");
            if let Some(page) = pages.last_mut() {
                page.push(line);
            }
            if footer {
                pages.push(Vec::new());
            }
        }
        pages.retain(|p| !p.is_empty());
        Ok(Fax { number: number.to_string(), from: mail.from.clone(), pages })
    }

    /// Waits (up to `timeout`) for the next fax to `number` (digits) and reads it.
    pub async fn expect_fax(&self, number: &str, timeout: Duration) -> Result<Fax, String> {
        let mail = self.sink.expect_mail(&format!("{number}@{}", self.domain), timeout).await?;
        self.read(&mail)
    }
}

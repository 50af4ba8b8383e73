//! Every kind of background work this build runs, registered by the module that owns it.
//!
//! The binary builds the providers (SMS, email, maps) from its configuration and hands them
//! over in [`Providers`]; which kinds exist, and which worker runs each, is decided here and
//! in the owning modules' `register` functions, never in the binary.

use std::sync::Arc;

use jiff::SignedDuration;

use crate::engine::Workers;
use crate::providers::SmsProvider;
use crate::providers::email::EmailProvider;
use crate::providers::maps::{Geocoder, Router};

/// What the workers need from the outside world.
pub struct Providers {
    pub sms: Arc<dyn SmsProvider>,
    /// Places voice calls (escalation steps that call).
    pub voice: Arc<dyn crate::providers::voice::VoiceProvider>,
    /// Where the SMS provider posts delivery statuses (`.../webhooks/twilio/sms-status`).
    pub sms_status_callback: Option<String>,
    /// Least time between two routine texts from one number.
    pub sms_interval: SignedDuration,
    pub email: Arc<dyn EmailProvider>,
    /// The default `From:` of outgoing email.
    pub email_from: String,
    /// The server's public URL (links in messages).
    pub public_url: String,
    /// How long technicians' portal links last (`None`: until the end of the next local day).
    pub portal_link_hours: Option<u32>,
    /// Web Push, for secure inboxes' notices.
    pub push: Arc<crate::providers::web_push::WebPush>,
    /// The paging server for pagers given by number (`None`: only email-to-pager works).
    pub snpp: Option<crate::providers::snpp::SnppServer>,
    /// The fax gateway's address for fax numbers, `{number}@domain` (`None`: only fax
    /// addresses work).
    pub fax_gateway: Option<String>,
    pub geocoder: Geocoder,
    pub router: Router,
    /// Online payment for invoices (`None`: the office records payments).
    pub payments: Option<Arc<dyn crate::providers::stripe::PaymentProvider>>,
    /// Where uploads and call recordings are kept.
    pub blobs: crate::storage::BlobStore,
}

/// The workers for every kind of work.
pub fn all(providers: &Providers) -> Workers {
    let p = providers;
    let mut workers = Workers::new();
    let id_domain = p.email_from.split('@').nth(1).unwrap_or("switchboard.localhost").to_string();
    crate::messaging::register(
        &mut workers,
        crate::messaging::SmsSender::new(p.sms.clone(), p.sms_status_callback.clone(), p.sms_interval),
        crate::messaging::EmailSender::new(p.email.clone(), p.email_from.clone(), id_domain),
    );
    crate::notifications::register(
        &mut workers,
        crate::notifications::send::Notifier { base_url: p.public_url.clone(), router: p.router.clone() },
    );
    crate::portal::register(
        &mut workers,
        crate::portal::PortalLinks { base_url: p.public_url.clone(), valid_hours: p.portal_link_hours },
    );
    crate::jobs::register(&mut workers, p.geocoder.clone());
    crate::billing::register(&mut workers, p.public_url.clone(), p.payments.clone());
    crate::inbound::register(&mut workers);
    crate::oncall::register(&mut workers);
    crate::calls::register(
        &mut workers,
        crate::calls::recordings::Fetcher { voice: p.voice.clone(), blobs: p.blobs.clone() },
        crate::calls::patch::Patcher { voice: p.voice.clone(), base_url: p.public_url.clone() },
    );
    crate::escalation::drive::register(
        &mut workers,
        crate::escalation::calls::Placer { voice: p.voice.clone(), base_url: p.public_url.clone() },
    );
    crate::desk::register(
        &mut workers,
        crate::desk::Outside {
            base_url: p.public_url.clone(),
            push: p.push.clone(),
            snpp: p.snpp.clone(),
            fax_gateway: p.fax_gateway.clone(),
        },
    );
    workers
}

//! The state every handler shares: the database, the clock, the configuration, limits, the
//! engine and the providers it was built with.

use std::sync::Arc;

use jiff::SignedDuration;
use metrics_exporter_prometheus::PrometheusHandle;
use switchboard_core::auth::throttle::Throttle;
use switchboard_core::clock::SharedClock;
use switchboard_core::db::Db;
use switchboard_core::engine::Engine;
use switchboard_core::portal::PortalLinks;
use switchboard_core::providers::maps::{Geocoder, Router as MapRouter};
use switchboard_core::storage::BlobStore;
use switchboard_standins::maps::MapsStandin;
use switchboard_standins::smtp::SmtpSink;
use switchboard_standins::twilio::TwilioStandin;

use crate::config::Config;

/// Requests larger than this are refused with 413 (forms and JSON; uploads get their own).
pub const BODY_LIMIT: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: SharedClock,
    pub config: Arc<Config>,
    pub login_limits: Arc<LoginLimits>,
    pub form_limits: Arc<FormLimits>,
    /// Group commit for inbound texts.
    pub ingest: switchboard_core::inbound::Ingest,
    pub metrics: PrometheusHandle,
    pub engine: Engine,
    /// The built-in SMS stand-in, when no Twilio account is configured.
    pub standin: Option<TwilioStandin>,
    /// The built-in SMTP sink, when no mail server is configured.
    pub mail_sink: Option<SmtpSink>,
    /// Uploaded files (job photos).
    pub blobs: BlobStore,
    /// How technicians' portal links are built.
    pub links: Arc<PortalLinks>,
    /// Finds job addresses on the map (off unless configured; the demo's stand-in otherwise).
    pub geocoder: Geocoder,
    /// Driving times for arrival estimates.
    pub router: MapRouter,
    /// Online payment for invoices (Stripe, or its stand-in in the demo and tests); `None`:
    /// invoices are paid only as the office records them.
    pub payments: Option<Arc<dyn switchboard_core::providers::stripe::PaymentProvider>>,
    /// The Stripe stand-in, when it runs.
    pub stripe_standin: Option<switchboard_standins::stripe::StripeStandin>,
    /// The demo's maps stand-in, when it runs.
    pub maps_standin: Option<MapsStandin>,
    /// How many schedules have a gap in the next 7 days, per organization (the sidebar's warning).
    pub oncall_gaps: OncallGaps,
    /// Places phone calls (calling a customer from the console).
    pub voice: Arc<dyn switchboard_core::providers::voice::VoiceProvider>,
    /// How the console's softphone reaches calls.
    pub softphone: Arc<Softphone>,
    /// Web Push for secure inboxes (its public key goes to the pages that subscribe).
    pub push: Arc<switchboard_core::providers::web_push::WebPush>,
    /// Set when the server starts shutting down: open event streams end, so the graceful
    /// shutdown is not held up by console tabs and tracking pages left open.
    pub closing: Closing,
}

/// How the console's softphone takes calls.
pub enum Softphone {
    /// Twilio's Voice JavaScript SDK in the browser, signed in with access tokens.
    Twilio(switchboard_core::calls::softphone::VoiceKeys),
    /// The stand-in's simulated phones (no audio): the server acts on the browser's leg.
    Simulated(switchboard_core::providers::twilio::TwilioSms),
    /// A real Twilio account without an API key: calls ring cells only.
    Off,
}

/// Tells long-lived responses (event streams) that the server is shutting down.
#[derive(Clone)]
pub struct Closing(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Closing {
    fn default() -> Self {
        Closing(Arc::new(tokio::sync::watch::channel(false).0))
    }
}

impl Closing {
    /// Starts the shutdown: every [`Closing::wait`] resolves.
    pub fn close(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once the server is shutting down (at once if it already is).
    pub fn wait(&self) -> impl std::future::Future<Output = ()> + Send + 'static + use<> {
        let mut rx = self.0.subscribe();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }
}

/// Failed sign-ins allowed within [`LOGIN_WINDOW`]: per client address and email, and (to
/// catch guessing across many emails) per client address.
pub const LOGIN_MAX_FAILURES_PER_ACCOUNT: usize = 5;
pub const LOGIN_MAX_FAILURES_PER_ADDRESS: usize = 25;
pub const LOGIN_WINDOW: SignedDuration = SignedDuration::from_mins(15);

pub struct LoginLimits {
    pub by_account: Throttle,
    pub by_address: Throttle,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            by_account: Throttle::new(LOGIN_MAX_FAILURES_PER_ACCOUNT, LOGIN_WINDOW),
            by_address: Throttle::new(LOGIN_MAX_FAILURES_PER_ADDRESS, LOGIN_WINDOW),
        }
    }
}

/// Web-form submissions allowed per client address and form, and per form, in 10 minutes.
pub struct FormLimits {
    pub by_address: Throttle,
    pub by_form: Throttle,
}

impl Default for FormLimits {
    fn default() -> Self {
        Self {
            by_address: Throttle::new(10, SignedDuration::from_mins(10)),
            by_form: Throttle::new(300, SignedDuration::from_mins(10)),
        }
    }
}

/// The sidebar's on-call warning, worked out again when a schedule changes (its stamp) or
/// after ten minutes (time moves the 7-day window on); one cheap query per page otherwise.
#[derive(Clone, Default)]
pub struct OncallGaps(Arc<std::sync::Mutex<std::collections::HashMap<i64, GapCount>>>);

/// An organization's schedules' stamp, when it was worked out, and how many have a gap.
type GapCount = ((i64, i64), jiff::Timestamp, usize);

impl OncallGaps {
    const FRESH: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

    pub async fn get(
        &self,
        db: &switchboard_core::db::Db,
        now: jiff::Timestamp,
        org: switchboard_core::ids::OrgId,
    ) -> switchboard_core::Result<usize> {
        use switchboard_core::oncall::store;
        let stamp = store::stamp(db, org).await?;
        if stamp.0 == 0 {
            return Ok(0);
        }
        let cached = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&org.0).copied();
        if let Some((s, at, n)) = cached
            && s == stamp
            && now.duration_since(at) < Self::FRESH
            && at <= now
        {
            return Ok(n);
        }
        let n = store::with_gaps(db, org, now, 7).await?;
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(org.0, (stamp, now, n));
        Ok(n)
    }
}

//! Typed, layered configuration: defaults < TOML file < environment < command-line flags.
//! Unknown file keys are rejected; secrets live in [`Secret`], which never prints its value.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;

/// A value that must not reach logs: `Debug` and `Display` print `***`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Flags of `switchboard serve`. Each has an environment variable; all are optional so that
/// the config file can fill what they leave out.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "SWITCHBOARD_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Database URL: postgres://user:pass@host/db, or a SQLite file path
    /// [default: switchboard.db in the working directory]
    #[arg(long = "database", env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// File holding the database URL (for secrets mounted as files)
    #[arg(long = "database-file", env = "DATABASE_URL_FILE", value_name = "PATH")]
    pub database_url_file: Option<PathBuf>,

    /// Public base URL used in links sent to people (portal, tracking, sign-in)
    /// [default: http://<listen>]
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Seed the demo organization (idempotent) and print its admin sign-in
    #[arg(long, env = "SWITCHBOARD_DEMO")]
    pub demo: bool,

    /// Log format [default: text]
    #[arg(long, env = "SWITCHBOARD_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    /// Trust X-Forwarded-For for client addresses (only behind your own reverse proxy)
    #[arg(long, env = "SWITCHBOARD_TRUST_FORWARDED")]
    pub trust_forwarded: bool,

    /// Twilio (or compatible) account SID; without it and a token, the built-in SMS stand-in runs
    #[arg(long, env = "TWILIO_ACCOUNT_SID", value_name = "SID")]
    pub twilio_account_sid: Option<String>,

    /// Twilio auth token (signs webhooks, authenticates API calls)
    #[arg(long, env = "TWILIO_AUTH_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub twilio_auth_token: Option<String>,

    /// The previous auth token, still accepted on webhooks during a rotation
    #[arg(long, env = "TWILIO_AUTH_TOKEN_PREVIOUS", value_name = "TOKEN", hide_env_values = true)]
    pub twilio_auth_token_previous: Option<String>,

    /// Base URL of the Twilio-compatible API [default: https://api.twilio.com]
    #[arg(long, env = "TWILIO_BASE_URL", value_name = "URL")]
    pub twilio_base_url: Option<String>,

    /// API key SID (SK...) that signs the softphone's access tokens (Voice JavaScript SDK)
    #[arg(long, env = "TWILIO_API_KEY_SID", value_name = "SID")]
    pub twilio_api_key_sid: Option<String>,

    /// That API key's secret
    #[arg(long, env = "TWILIO_API_KEY_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub twilio_api_key_secret: Option<String>,

    /// The TwiML app (AP...) whose Voice URL answers calls the softphone places
    #[arg(long, env = "TWILIO_TWIML_APP_SID", value_name = "SID")]
    pub twilio_twiml_app_sid: Option<String>,

    /// Stripe secret key (sk_live_... or sk_test_...) for invoice payments; without it, invoices
    /// are paid only as the office records them (the demo pays through a built-in stand-in)
    #[arg(long, env = "STRIPE_SECRET_KEY", value_name = "KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,

    /// Signing secret of the Stripe webhook endpoint (whsec_...) that posts to /webhooks/stripe
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub stripe_webhook_secret: Option<String>,

    /// The previous webhook signing secret, still accepted during a rotation
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET_PREVIOUS", value_name = "SECRET", hide_env_values = true)]
    pub stripe_webhook_secret_previous: Option<String>,

    /// Base URL of the Stripe API [default: https://api.stripe.com]
    #[arg(long, env = "STRIPE_BASE_URL", value_name = "URL")]
    pub stripe_base_url: Option<String>,

    /// Minimum milliseconds between two texts from one sender number [default: 1000]
    #[arg(long, env = "SWITCHBOARD_SMS_INTERVAL_MS", value_name = "MS")]
    pub sms_interval_ms: Option<u64>,

    /// Address of the built-in SMS stand-in when no Twilio account is configured [default: 127.0.0.1:0]
    #[arg(long, env = "SWITCHBOARD_STANDIN_LISTEN", value_name = "ADDR")]
    pub standin_listen: Option<SocketAddr>,

    /// Outgoing mail server: smtp://host:25, smtp://user:pass@host:587?tls=required (STARTTLS)
    /// or smtps://user:pass@host:465; without it, mail goes to a built-in SMTP sink
    #[arg(long, env = "SWITCHBOARD_SMTP_URL", value_name = "URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender address for brands without an inbound address [default: dispatch@switchboard.localhost]
    #[arg(long, env = "SWITCHBOARD_SMTP_FROM", value_name = "ADDRESS")]
    pub smtp_from: Option<String>,

    /// Paging server for pagers given by number: snpp://host[:port] (RFC 1861; port 444 by
    /// default); without it, pagers with an email address still get pages
    #[arg(long, env = "SWITCHBOARD_SNPP_URL", value_name = "URL")]
    pub snpp_url: Option<String>,

    /// Fax gateway address for fax numbers, {number} standing for the number's digits with its
    /// country code: {number}@rcfax.com (RingCentral), {number}@efaxsend.com (eFax); without
    /// it, only faxes given as an address work
    #[arg(long, env = "SWITCHBOARD_FAX_GATEWAY", value_name = "PATTERN")]
    pub fax_gateway: Option<String>,

    /// Web Push services to accept besides the browsers' own (FCM, Mozilla, Apple, Windows, over
    /// https): origins such as http://127.0.0.1:4100, comma-separated, for a local stand-in
    #[arg(long, env = "SWITCHBOARD_PUSH_ORIGINS", value_name = "ORIGINS", value_delimiter = ',')]
    pub push_origins: Vec<String>,

    /// Seconds a worker holds a claimed item; work of a crashed process is retried after this
    /// [default: 60]
    #[arg(long, env = "SWITCHBOARD_ENGINE_LEASE_SECS", value_name = "SECONDS")]
    pub engine_lease_secs: Option<u64>,

    /// Accept inbound email over SMTP on this address (mail for the brands' inbound addresses)
    #[arg(long, env = "SWITCHBOARD_SMTP_LISTEN", value_name = "ADDR")]
    pub smtp_listen: Option<SocketAddr>,

    /// Secret for the Postmark inbound webhook (/webhooks/postmark/inbound): the password of its
    /// HTTP Basic credentials; the webhook is refused while unset
    #[arg(long, env = "SWITCHBOARD_INBOUND_EMAIL_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub inbound_email_token: Option<String>,

    /// Folder for uploaded files (job photos) [default: switchboard-data in the working directory]
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", value_name = "PATH")]
    pub data_dir: Option<PathBuf>,

    /// Hours a technician's portal link stays valid [default: until the end of the next day in
    /// the brand's time zone]
    #[arg(long, env = "SWITCHBOARD_PORTAL_LINK_HOURS", value_name = "HOURS")]
    pub portal_link_hours: Option<u32>,

    /// Store uploads in this S3-compatible service instead of the data directory
    /// (https://s3.us-east-1.amazonaws.com, http://minio:9000, an R2 or B2 endpoint)
    #[arg(long, env = "SWITCHBOARD_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// Bucket for uploads (addressed path-style: ENDPOINT/BUCKET/KEY)
    #[arg(long, env = "SWITCHBOARD_S3_BUCKET", value_name = "NAME")]
    pub s3_bucket: Option<String>,

    /// Region the bucket is signed for [default: us-east-1]
    #[arg(long, env = "SWITCHBOARD_S3_REGION", value_name = "REGION")]
    pub s3_region: Option<String>,

    /// Access key id for the bucket
    #[arg(long, env = "SWITCHBOARD_S3_ACCESS_KEY", value_name = "KEY")]
    pub s3_access_key: Option<String>,

    /// Secret access key for the bucket
    #[arg(long, env = "SWITCHBOARD_S3_SECRET_KEY", value_name = "SECRET", hide_env_values = true)]
    pub s3_secret_key: Option<String>,

    /// Map tiles for the tracking page and pin placement, with {z}, {x} and {y}
    /// [default: https://tile.openstreetmap.org/{z}/{x}/{y}.png]
    #[arg(long, env = "SWITCHBOARD_MAP_TILES", value_name = "URL")]
    pub map_tiles: Option<String>,

    /// Attribution shown on maps, as the tile provider requires
    /// [default: © OpenStreetMap contributors]
    #[arg(long, env = "SWITCHBOARD_MAP_ATTRIBUTION", value_name = "TEXT")]
    pub map_attribution: Option<String>,

    /// Nominatim-compatible geocoder (base URL, /search is appended) that places job addresses
    /// on the map; without it dispatchers place pins by hand
    #[arg(long, env = "SWITCHBOARD_GEOCODER_URL", value_name = "URL")]
    pub geocoder_url: Option<String>,

    /// OSRM route service (base URL, /route/v1/driving/... is appended) for arrival times by
    /// road; without it arrival times are estimated from the straight-line distance
    #[arg(long, env = "SWITCHBOARD_OSRM_URL", value_name = "URL")]
    pub osrm_url: Option<String>,
}

/// The optional TOML file (`--config`, `SWITCHBOARD_CONFIG`). Keys match the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<Secret>,
    pub public_url: Option<String>,
    pub demo: Option<bool>,
    pub log_format: Option<LogFormat>,
    pub trust_forwarded: Option<bool>,
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<Secret>,
    pub twilio_auth_token_previous: Option<Secret>,
    pub twilio_base_url: Option<String>,
    pub stripe_secret_key: Option<Secret>,
    pub stripe_webhook_secret: Option<Secret>,
    pub stripe_webhook_secret_previous: Option<Secret>,
    pub stripe_base_url: Option<String>,
    pub sms_interval_ms: Option<u64>,
    pub standin_listen: Option<SocketAddr>,
    pub smtp_url: Option<Secret>,
    pub smtp_from: Option<String>,
    pub push_origins: Option<Vec<String>>,
    pub snpp_url: Option<String>,
    pub fax_gateway: Option<String>,
    pub smtp_listen: Option<SocketAddr>,
    pub inbound_email_token: Option<Secret>,
    pub engine_lease_secs: Option<u64>,
    pub data_dir: Option<PathBuf>,
    pub portal_link_hours: Option<u32>,
    pub s3_endpoint: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_region: Option<String>,
    pub s3_access_key: Option<String>,
    pub s3_secret_key: Option<Secret>,
    pub map_tiles: Option<String>,
    pub map_attribution: Option<String>,
    pub geocoder_url: Option<String>,
    pub osrm_url: Option<String>,
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("in config file {}", path.display()))
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "switchboard.db";
pub const DEFAULT_DATA_DIR: &str = "switchboard-data";
pub const DEFAULT_MAP_TILES: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
pub const DEFAULT_MAP_ATTRIBUTION: &str = "© OpenStreetMap contributors";

/// Maps: tiles for the pages, and the optional geocoder and route service.
#[derive(Debug, Clone)]
pub struct MapSettings {
    pub tiles: String,
    pub attribution: String,
    /// `None`: pins are placed by hand (the demo uses its stand-in).
    pub geocoder_url: Option<String>,
    /// `None`: straight-line arrival estimates (the demo uses its stand-in).
    pub osrm_url: Option<String>,
}

impl MapSettings {
    /// The tile server's origin (`https://tile.openstreetmap.org`; a `{s}` subdomain becomes
    /// `*`), for the pages' CSP. The URL was checked by [`Config::resolve`].
    pub fn tile_origin(&self) -> String {
        tile_host(&self.tiles)
            .map(|(scheme, host)| format!("{scheme}://{}", host.replace("{s}", "*")))
            .unwrap_or_default()
    }
}

/// The scheme and host (with port) of a tile URL, if they are plain: letters, digits, dots,
/// dashes, a port, and Leaflet's `{s}` subdomain placeholder.
fn tile_host(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let host = &rest[..rest.find('/')?];
    let plain = host.replace("{s}", "s");
    let ok = matches!(scheme, "http" | "https")
        && !plain.is_empty()
        && plain.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    ok.then_some((scheme, host))
}

fn resolve_maps(args: &ServeArgs, file: &FileConfig) -> anyhow::Result<MapSettings> {
    let pick = |a: &Option<String>, f: &Option<String>| {
        a.clone().or(f.clone()).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    };
    let http = |name: &str, v: &str| -> anyhow::Result<()> {
        if !(v.starts_with("http://") || v.starts_with("https://")) {
            bail!("{name} must start with http:// or https:// (got {v})");
        }
        Ok(())
    };
    let tiles = pick(&args.map_tiles, &file.map_tiles).unwrap_or_else(|| DEFAULT_MAP_TILES.into());
    http("SWITCHBOARD_MAP_TILES", &tiles)?;
    if tile_host(&tiles).is_none() || tiles.chars().any(|c| c.is_whitespace() || matches!(c, ';' | ',' | '\'' | '"')) {
        bail!("SWITCHBOARD_MAP_TILES must be a plain http(s) URL like {DEFAULT_MAP_TILES} (got {tiles})");
    }
    for part in ["{z}", "{x}", "{y}"] {
        if !tiles.contains(part) {
            bail!("SWITCHBOARD_MAP_TILES needs {part} in it, like {DEFAULT_MAP_TILES} (got {tiles})");
        }
    }
    let geocoder_url = pick(&args.geocoder_url, &file.geocoder_url).map(|u| u.trim_end_matches('/').to_string());
    let osrm_url = pick(&args.osrm_url, &file.osrm_url).map(|u| u.trim_end_matches('/').to_string());
    if let Some(u) = &geocoder_url {
        http("SWITCHBOARD_GEOCODER_URL", u)?;
    }
    if let Some(u) = &osrm_url {
        http("SWITCHBOARD_OSRM_URL", u)?;
    }
    Ok(MapSettings {
        tiles,
        attribution: pick(&args.map_attribution, &file.map_attribution)
            .unwrap_or_else(|| DEFAULT_MAP_ATTRIBUTION.into()),
        geocoder_url,
        osrm_url,
    })
}

/// S3 settings: all of endpoint, bucket and keys, or none.
fn resolve_s3(
    args: &ServeArgs,
    file: &FileConfig,
) -> anyhow::Result<Option<switchboard_core::providers::s3::S3Config>> {
    let pick = |a: &Option<String>, f: &Option<String>| a.clone().or(f.clone()).filter(|v| !v.trim().is_empty());
    let endpoint = pick(&args.s3_endpoint, &file.s3_endpoint);
    let bucket = pick(&args.s3_bucket, &file.s3_bucket);
    let access_key = pick(&args.s3_access_key, &file.s3_access_key);
    let secret_key = args
        .s3_secret_key
        .clone()
        .or(file.s3_secret_key.as_ref().map(|s| s.expose().to_string()))
        .filter(|v| !v.is_empty());
    match (endpoint, bucket, access_key, secret_key) {
        (None, None, None, None) => Ok(None),
        (Some(endpoint), Some(bucket), Some(access_key), Some(secret_key)) => {
            let endpoint = endpoint.trim_end_matches('/').to_string();
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                bail!("SWITCHBOARD_S3_ENDPOINT must start with http:// or https:// (got {endpoint})");
            }
            Ok(Some(switchboard_core::providers::s3::S3Config {
                endpoint,
                bucket,
                region: pick(&args.s3_region, &file.s3_region).unwrap_or_else(|| "us-east-1".into()),
                access_key,
                secret_key,
            }))
        }
        _ => bail!(
            "S3 storage needs all of SWITCHBOARD_S3_ENDPOINT, SWITCHBOARD_S3_BUCKET, SWITCHBOARD_S3_ACCESS_KEY and \
             SWITCHBOARD_S3_SECRET_KEY (or none of them, to store uploads in the data directory)"
        ),
    }
}

/// Everything `serve` needs, resolved.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: Secret,
    /// Without a trailing slash.
    pub public_url: String,
    /// True when no public URL was configured and it was derived from `listen`; the server then
    /// re-derives it from the address it actually bound (useful with port 0).
    pub public_url_from_listen: bool,
    pub demo: bool,
    pub log_format: LogFormat,
    pub trust_forwarded: bool,
    /// `None`: run the built-in SMS stand-in.
    pub twilio: Option<TwilioSettings>,
    /// Signs the browser softphone in at Twilio; `None`: the softphone works only against the
    /// stand-in's simulated phones.
    pub voice_keys: Option<switchboard_core::calls::softphone::VoiceKeys>,
    /// `None`: no online payment (the demo and the tests run the Stripe stand-in when
    /// `stripe_standin` is set).
    pub stripe: Option<StripeSettings>,
    /// Run the built-in Stripe stand-in when no Stripe key is configured (the demo, tests).
    pub stripe_standin: bool,
    pub sms_interval_ms: u64,
    pub standin_listen: SocketAddr,
    /// `None`: send mail to the built-in SMTP sink.
    pub smtp_url: Option<Secret>,
    pub smtp_from: String,
    /// Origins of Web Push services accepted besides the browsers' own (a stand-in's).
    pub push_origins: Vec<String>,
    /// The paging server for pagers given by number.
    pub snpp: Option<switchboard_core::providers::snpp::SnppServer>,
    /// The fax gateway's address pattern (`{number}@domain`).
    pub fax_gateway: Option<String>,
    pub smtp_listen: Option<SocketAddr>,
    pub inbound_email_token: Option<Secret>,
    pub engine_lease_secs: u64,
    pub data_dir: PathBuf,
    pub portal_link_hours: Option<u32>,
    /// `None`: uploads go under `data_dir`.
    pub s3: Option<switchboard_core::providers::s3::S3Config>,
    pub maps: MapSettings,
}

#[derive(Debug, Clone)]
pub struct TwilioSettings {
    pub account_sid: String,
    pub auth_token: Secret,
    pub auth_token_previous: Option<Secret>,
    pub base_url: String,
}

#[derive(Debug, Clone)]
pub struct StripeSettings {
    pub secret_key: Secret,
    /// The webhook signing secrets accepted (the current one, and the previous during a rotation).
    pub webhook_secrets: Vec<Secret>,
    pub base_url: String,
}

impl Config {
    /// Merges flags/environment (already combined by clap) over the file over defaults.
    pub fn resolve(args: &ServeArgs, file: FileConfig) -> anyhow::Result<Config> {
        let s3 = resolve_s3(args, &file)?;
        let maps = resolve_maps(args, &file)?;
        let listen = match args.listen.or(file.listen) {
            Some(l) => l,
            None => DEFAULT_LISTEN.parse().context("default listen address")?,
        };
        let database_url = match (&args.database_url, &args.database_url_file) {
            (Some(url), _) => Secret::new(url.clone()),
            (None, Some(path)) => Secret::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading database URL from {}", path.display()))?
                    .trim()
                    .to_string(),
            ),
            (None, None) => file.database_url.unwrap_or_else(|| Secret::new(DEFAULT_DATABASE)),
        };
        let configured_url = args.public_url.clone().or(file.public_url);
        let public_url_from_listen = configured_url.is_none();
        let public_url = configured_url.unwrap_or_else(|| format!("http://{listen}")).trim_end_matches('/').to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            bail!("public URL must start with http:// or https:// (got {public_url})");
        }
        let sid = args.twilio_account_sid.clone().or(file.twilio_account_sid).filter(|s| !s.is_empty());
        let token = args
            .twilio_auth_token
            .clone()
            .map(Secret::new)
            .or(file.twilio_auth_token)
            .filter(|s| !s.expose().is_empty());
        let twilio = match (sid, token) {
            (Some(account_sid), Some(auth_token)) => Some(TwilioSettings {
                account_sid,
                auth_token,
                auth_token_previous: args
                    .twilio_auth_token_previous
                    .clone()
                    .map(Secret::new)
                    .or(file.twilio_auth_token_previous)
                    .filter(|s| !s.expose().is_empty()),
                base_url: args
                    .twilio_base_url
                    .clone()
                    .or(file.twilio_base_url)
                    .unwrap_or_else(|| switchboard_core::providers::twilio::TWILIO_API.to_string())
                    .trim_end_matches('/')
                    .to_string(),
            }),
            (None, None) => None,
            (Some(_), None) => bail!("TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not"),
            (None, Some(_)) => bail!("TWILIO_AUTH_TOKEN is set but TWILIO_ACCOUNT_SID is not"),
        };
        let voice_keys = match (
            args.twilio_api_key_sid.clone().filter(|s| !s.is_empty()),
            args.twilio_api_key_secret.clone().filter(|s| !s.is_empty()),
            args.twilio_twiml_app_sid.clone().filter(|s| !s.is_empty()),
            twilio.as_ref(),
        ) {
            (Some(api_key_sid), Some(api_key_secret), Some(twiml_app_sid), Some(t)) => {
                Some(switchboard_core::calls::softphone::VoiceKeys {
                    account_sid: t.account_sid.clone(),
                    api_key_sid,
                    api_key_secret,
                    twiml_app_sid,
                })
            }
            (None, None, None, _) => None,
            _ => bail!(
                "the softphone needs TWILIO_API_KEY_SID, TWILIO_API_KEY_SECRET and TWILIO_TWIML_APP_SID together, \
                 with TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
            ),
        };
        let pick_secret = |a: &Option<String>, f: Option<Secret>| {
            a.clone().map(Secret::new).or(f).filter(|s| !s.expose().trim().is_empty())
        };
        let stripe_key = pick_secret(&args.stripe_secret_key, file.stripe_secret_key);
        let webhook_secrets: Vec<Secret> = [
            pick_secret(&args.stripe_webhook_secret, file.stripe_webhook_secret),
            pick_secret(&args.stripe_webhook_secret_previous, file.stripe_webhook_secret_previous),
        ]
        .into_iter()
        .flatten()
        .collect();
        let stripe = match stripe_key {
            Some(secret_key) => {
                if !(secret_key.expose().starts_with("sk_") || secret_key.expose().starts_with("rk_")) {
                    bail!(
                        "STRIPE_SECRET_KEY must be a secret key (sk_live_..., sk_test_...) or a restricted key (rk_...)"
                    );
                }
                if webhook_secrets.is_empty() {
                    bail!("STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: payments could not be confirmed");
                }
                let base_url = args
                    .stripe_base_url
                    .clone()
                    .or(file.stripe_base_url)
                    .unwrap_or_else(|| switchboard_core::providers::stripe::STRIPE_API.to_string())
                    .trim_end_matches('/')
                    .to_string();
                if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
                    bail!("STRIPE_BASE_URL must start with http:// or https:// (got {base_url})");
                }
                Some(StripeSettings { secret_key, webhook_secrets, base_url })
            }
            None if !webhook_secrets.is_empty() => {
                bail!("STRIPE_WEBHOOK_SECRET is set but STRIPE_SECRET_KEY is not")
            }
            None => None,
        };
        let standin_listen = match args.standin_listen.or(file.standin_listen) {
            Some(a) => a,
            None => "127.0.0.1:0".parse().context("default stand-in address")?,
        };
        let smtp_from =
            args.smtp_from.clone().or(file.smtp_from).unwrap_or_else(|| "dispatch@switchboard.localhost".into());
        switchboard_core::parse::EmailAddress::parse(&smtp_from)
            .map_err(|m| anyhow::anyhow!("SWITCHBOARD_SMTP_FROM: {m}"))?;
        let portal_link_hours = args.portal_link_hours.or(file.portal_link_hours);
        if let Some(h) = portal_link_hours
            && !(1..=switchboard_core::portal::MAX_VALID_HOURS).contains(&h)
        {
            bail!("portal link hours must be between 1 and {} (got {h})", switchboard_core::portal::MAX_VALID_HOURS);
        }
        let push_origins = if args.push_origins.is_empty() {
            file.push_origins.unwrap_or_default()
        } else {
            args.push_origins.clone()
        };
        for o in &push_origins {
            let url = reqwest::Url::parse(o).map_err(|_| anyhow::anyhow!("push origin {o} is not a URL"))?;
            if url.origin().ascii_serialization() != o.trim_end_matches('/') {
                bail!("push origin {o} must be an origin only (scheme, host and port), like http://127.0.0.1:4100");
            }
        }
        let snpp = match args.snpp_url.clone().or(file.snpp_url).filter(|u| !u.trim().is_empty()) {
            Some(u) => Some(
                switchboard_core::providers::snpp::SnppServer::parse(&u)
                    .map_err(|m| anyhow::anyhow!("SWITCHBOARD_SNPP_URL: {m}"))?,
            ),
            None => None,
        };
        let fax_gateway = args.fax_gateway.clone().or(file.fax_gateway).filter(|g| !g.trim().is_empty());
        if let Some(g) = &fax_gateway {
            if !g.contains("{number}") {
                bail!("SWITCHBOARD_FAX_GATEWAY must contain {{number}}, like {{number}}@rcfax.com (got {g})");
            }
            switchboard_core::desk::delivery::gateway_address(g, "+13125550199")
                .map_err(|m| anyhow::anyhow!("SWITCHBOARD_FAX_GATEWAY: {m}"))?;
        }
        Ok(Config {
            snpp,
            fax_gateway,
            push_origins,
            s3,
            maps,
            data_dir: args.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            portal_link_hours,
            engine_lease_secs: args.engine_lease_secs.or(file.engine_lease_secs).unwrap_or(60).max(1),
            smtp_url: args.smtp_url.clone().map(Secret::new).or(file.smtp_url).filter(|s| !s.expose().is_empty()),
            smtp_from,
            smtp_listen: args.smtp_listen.or(file.smtp_listen),
            inbound_email_token: args
                .inbound_email_token
                .clone()
                .map(Secret::new)
                .or(file.inbound_email_token)
                .filter(|s| !s.expose().is_empty()),
            twilio,
            voice_keys,
            stripe,
            stripe_standin: args.demo || file.demo.unwrap_or(false),
            sms_interval_ms: args.sms_interval_ms.or(file.sms_interval_ms).unwrap_or(1000),
            standin_listen,
            listen,
            database_url,
            public_url,
            public_url_from_listen,
            demo: args.demo || file.demo.unwrap_or(false),
            log_format: args.log_format.or(file.log_format).unwrap_or(LogFormat::Text),
            trust_forwarded: args.trust_forwarded || file.trust_forwarded.unwrap_or(false),
        })
    }

    /// Cookies are marked Secure (and use the `__Host-` prefix) when served over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_settings_default_to_openstreetmap_and_check_what_is_given() {
        let c = Config::resolve(&ServeArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(c.maps.tiles, DEFAULT_MAP_TILES);
        assert_eq!(c.maps.tile_origin(), "https://tile.openstreetmap.org");
        assert!(c.maps.geocoder_url.is_none() && c.maps.osrm_url.is_none());
        let args = ServeArgs {
            map_tiles: Some("http://tiles.local:8081/osm/{z}/{x}/{y}.png".into()),
            osrm_url: Some("http://osrm:5000/".into()),
            ..Default::default()
        };
        let c = Config::resolve(&args, FileConfig::default()).unwrap();
        assert_eq!(c.maps.tile_origin(), "http://tiles.local:8081");
        assert_eq!(c.maps.osrm_url.as_deref(), Some("http://osrm:5000"));
        let bad = ServeArgs { map_tiles: Some("https://tiles.example.com/{z}/{x}.png".into()), ..Default::default() };
        let err = Config::resolve(&bad, FileConfig::default()).unwrap_err().to_string();
        assert!(err.contains("{y}"), "{err}");
        let bad = ServeArgs {
            map_tiles: Some("https://t.example;script-src * 'unsafe-inline'/{z}/{x}/{y}".into()),
            ..Default::default()
        };
        let err = Config::resolve(&bad, FileConfig::default()).unwrap_err().to_string();
        assert!(err.contains("plain http(s) URL"), "nothing can slip into the pages' CSP: {err}");
        let sub =
            ServeArgs { map_tiles: Some("https://{s}.tile.example.com/{z}/{x}/{y}.png".into()), ..Default::default() };
        assert_eq!(
            Config::resolve(&sub, FileConfig::default()).unwrap().maps.tile_origin(),
            "https://*.tile.example.com"
        );
        let bad = ServeArgs { geocoder_url: Some("nominatim.local".into()), ..Default::default() };
        let err = Config::resolve(&bad, FileConfig::default()).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_GEOCODER_URL"), "{err}");
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = Config::resolve(&ServeArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url.expose(), "switchboard.db");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert!(!c.secure_cookies());
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let file: FileConfig = toml::from_str(
            "listen = \"0.0.0.0:9000\"\ndatabase_url = \"postgres://u:pw@db/sb\"\npublic_url = \"https://sb.example.com/\"",
        )
        .unwrap();
        let args = ServeArgs { listen: Some("127.0.0.1:7000".parse().unwrap()), ..Default::default() };
        let c = Config::resolve(&args, file).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(c.database_url.expose(), "postgres://u:pw@db/sb");
        assert_eq!(c.public_url, "https://sb.example.com");
        assert!(c.secure_cookies());
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let err = toml::from_str::<FileConfig>("listn = \"x\"").unwrap_err().to_string();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Config::resolve(
            &ServeArgs { database_url: Some("postgres://u:hunter2@h/db".into()), ..Default::default() },
            FileConfig::default(),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn s3_settings_come_all_together_or_not_at_all() {
        let c = Config::resolve(&ServeArgs::default(), FileConfig::default()).unwrap();
        assert!(c.s3.is_none());
        let half = ServeArgs { s3_endpoint: Some("http://minio:9000".into()), ..Default::default() };
        let err = Config::resolve(&half, FileConfig::default()).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_S3_BUCKET"), "{err}");
        let file: FileConfig = toml::from_str(
            "s3_endpoint = \"http://minio:9000/\"\ns3_bucket = \"photos\"\ns3_access_key = \"AK\"\ns3_secret_key = \"hunter2\"",
        )
        .unwrap();
        let c = Config::resolve(&ServeArgs::default(), file).unwrap();
        let s3 = c.s3.clone().unwrap();
        assert_eq!(
            (s3.endpoint.as_str(), s3.bucket.as_str(), s3.region.as_str()),
            ("http://minio:9000", "photos", "us-east-1")
        );
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn public_url_must_be_http() {
        let args = ServeArgs { public_url: Some("ftp://x".into()), ..Default::default() };
        assert!(Config::resolve(&args, FileConfig::default()).is_err());
    }
}

//! The command line: `serve`, `migrate`, `user create`, `api-key create`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use switchboard_core::clock::SystemClock;
use switchboard_core::db::{Db, normalize_url, redact_url};
use switchboard_core::tenancy::{self, NewUserInput};

use crate::config::{Config, FileConfig, ServeArgs};

#[derive(Parser)]
#[command(name = "switchboard", version, about = "Dispatch, leads and on-call for home-service businesses")]
pub struct Cli {
    /// Optional TOML configuration file (keys as the serve flags, e.g. listen, database_url)
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (migrations run first)
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit
    Migrate(DbArgs),
    /// Manage user accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Run the local provider stand-ins (Twilio-compatible SMS with simulated phones, SMTP sink)
    Standin(StandinArgs),
    /// Measure engine throughput and timer lateness against the raw database rate
    Bench(BenchCli),
    /// Print the API's OpenAPI 3.1 document (what /api/v1/openapi.json serves), e.g. to
    /// generate a client
    Openapi,
}

#[derive(Args)]
struct BenchCli {
    /// What to measure: `engine` (throughput, timer lateness), `ingest` (webhooks/s, SSE delay),
    /// `dispatch` (board, portal and jobs-table reads; dispatch and assignment writes), `desk`
    /// (message submit to first delivery; daily recaps for 1,000 clients), `oncall` (who is on
    /// call, for a schedule of 5 layers and a year of overrides and swaps) or `escalation` (step
    /// lateness with 10,000 and 100,000 active escalations, steps/s, confirmation to all stopped)
    /// or `billing` (Stripe payment events/s verified and reconciled; the customer's invoice page)
    /// or `calls` (inbound call webhook to TwiML; 100 whole calls at once through the stand-in;
    /// recordings copied into storage)
    #[arg(default_value = "engine")]
    what: String,
    /// PostgreSQL server URL (a fresh database is created on it); default: a temp SQLite file
    #[arg(long)]
    postgres: Option<String>,
    /// Work items per throughput run
    #[arg(long, default_value_t = 5000)]
    items: usize,
    /// Engine benchmarks: items claimed and run at once (default: the engine's default)
    #[arg(long)]
    concurrency: Option<usize>,
    /// Pending-timer counts for the lateness runs (`escalation`: active escalations)
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    timers: Vec<usize>,
}

#[derive(Args)]
struct StandinArgs {
    /// Address of the Twilio-compatible API and the phones page
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: std::net::SocketAddr,
    /// Where replies typed on simulated phones are delivered (the app's inbound SMS webhook)
    #[arg(long, default_value = "http://127.0.0.1:8080/webhooks/twilio/sms")]
    sms_webhook: String,
    /// Account SID to accept (default: a new random one)
    #[arg(long, env = "TWILIO_ACCOUNT_SID")]
    account_sid: Option<String>,
    /// Auth token to accept and sign callbacks with (default: a new random one)
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    auth_token: Option<String>,
    /// Address of the SMTP sink
    #[arg(long, default_value = "127.0.0.1:2525")]
    smtp_listen: std::net::SocketAddr,
}

#[derive(Args, Clone)]
struct DbArgs {
    /// Database URL or SQLite file path [default: switchboard.db]
    #[arg(long = "database", env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (the organization is created if it does not exist)
    Create {
        #[arg(long)]
        email: String,
        /// admin, dispatcher, operator, technician or client
        #[arg(long)]
        role: String,
        /// Organization slug [default: the only organization, or "default" if there is none]
        #[arg(long)]
        org: Option<String>,
        /// Display name [default: from the email address]
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input instead of prompting
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create an API key and print it once
    Create {
        /// Organization slug
        #[arg(long)]
        org: String,
        /// What the key is for, e.g. "website"
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn file_config(path: &Option<PathBuf>) -> anyhow::Result<FileConfig> {
    match path {
        Some(p) => FileConfig::load(p),
        None => Ok(FileConfig::default()),
    }
}

/// The database for one-shot commands: flag/env, then the config file, then the default.
async fn open_db(args: &DbArgs, file: FileConfig) -> anyhow::Result<Db> {
    let serve = ServeArgs { database_url: args.database_url.clone(), ..Default::default() };
    let config = Config::resolve(&serve, file)?;
    let url = config.database_url.expose();
    let db = Db::connect(url).await.with_context(|| format!("connecting to {}", redact_url(&normalize_url(url))))?;
    db.migrate().await?;
    Ok(db)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = file_config(&cli.config)?;
    match cli.command {
        Command::Serve(args) => crate::server::run(Config::resolve(&args, file)?).await,
        Command::Migrate(args) => {
            let db = open_db(&args, file).await?;
            println!("migrations applied ({})", db.backend().name());
            db.close().await;
            Ok(())
        }
        Command::User(UserCommand::Create { email, role, org, name, password_stdin, db }) => {
            let db = open_db(&db, file).await?;
            let password = read_password(password_stdin)?;
            let org = tenancy::resolve_org(&db, &SystemClock, org.as_deref(), true).await?;
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_string());
            let input = NewUserInput { email, name, role, password };
            let user = tenancy::create_user(&db, &SystemClock, org.id, &input).await.map_err(describe)?;
            println!("created {} {} ({}) in organization {}", user.role.as_str(), user.email, user.id, org.slug);
            db.close().await;
            Ok(())
        }
        Command::Standin(args) => run_standins(args).await,
        Command::Openapi => {
            let (_, doc) = crate::api::api_router();
            println!("{}", serde_json::to_string_pretty(&crate::api::document(&doc))?);
            Ok(())
        }
        Command::Bench(args) => match args.what.as_str() {
            "engine" => {
                let bench = crate::bench::BenchArgs {
                    database: args.postgres,
                    concurrency: args.concurrency,
                    items: args.items,
                    timers: args.timers,
                };
                crate::bench::run(bench).await
            }
            "ingest" => crate::bench::ingest::run(args.postgres).await,
            "dispatch" => crate::bench::dispatch::run(args.postgres).await,
            "desk" => crate::bench::desk::run(args.postgres).await,
            "oncall" => crate::bench::oncall::run(args.postgres).await,
            "escalation" => crate::bench::escalation::run(args.postgres, args.timers).await,
            "billing" => crate::bench::billing::run(args.postgres).await,
            "calls" => crate::bench::calls::run(args.postgres).await,
            other => {
                bail!(
                    "unknown benchmark \"{other}\" (engine, ingest, dispatch, desk, oncall, escalation, billing, calls)"
                )
            }
        },
        Command::ApiKey(ApiKeyCommand::Create { org, name, db }) => {
            let db = open_db(&db, file).await?;
            let org = tenancy::resolve_org(&db, &SystemClock, Some(&org), false).await.map_err(describe)?;
            let (key, row) =
                switchboard_core::auth::create_api_key(&db, &SystemClock, org.id, &name).await.map_err(describe)?;
            eprintln!(
                "API key \"{}\" for {} (id {}). It is shown only now; store it safely:",
                row.name, org.slug, row.id
            );
            println!("{key}");
            db.close().await;
            Ok(())
        }
    }
}

/// Core errors worded for a terminal.
fn describe(e: switchboard_core::Error) -> anyhow::Error {
    match e {
        switchboard_core::Error::Invalid(fields) => {
            anyhow::anyhow!(fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "))
        }
        other => anyhow::anyhow!(other.to_string()),
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        if pw.is_empty() {
            bail!("no password on standard input");
        }
        return Ok(pw);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for a password; pass --password-stdin and pipe it in");
    }
    let first = rpassword::prompt_password("Password: ").context("reading the password")?;
    let second = rpassword::prompt_password("Repeat password: ").context("reading the password")?;
    if first != second {
        bail!("the passwords do not match");
    }
    Ok(first)
}

async fn run_standins(args: StandinArgs) -> anyhow::Result<()> {
    use switchboard_standins::{smtp::SmtpSink, twilio::TwilioStandin};
    crate::telemetry::init_logging(crate::config::LogFormat::Text);
    crate::app::install_crypto_provider();
    let sms = match (args.account_sid, args.auth_token) {
        (Some(sid), Some(token)) => TwilioStandin::start_with(args.listen, sid, token).await,
        (None, None) => TwilioStandin::start(args.listen).await,
        _ => bail!("give both --account-sid and --auth-token, or neither"),
    }
    .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    sms.set_sms_webhook(args.sms_webhook.clone());
    let sink = SmtpSink::start(args.smtp_listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.smtp_listen))?;
    println!("SMS stand-in (Twilio wire format) at {}", sms.base_url());
    println!("  phones page:  {}/", sms.base_url());
    println!("  replies go to {}", args.sms_webhook);
    let s3 = switchboard_standins::s3::S3Standin::start("127.0.0.1:0".parse()?)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the S3 stand-in: {e}"))?;
    let bucket = s3.config();
    println!("SMTP sink at {}", sink.url());
    println!("S3-compatible bucket \"{}\" at {} (in memory)", bucket.bucket, bucket.endpoint);
    println!("Point the app at them:");
    println!(
        "  TWILIO_BASE_URL={} TWILIO_ACCOUNT_SID={} TWILIO_AUTH_TOKEN={} SWITCHBOARD_SMTP_URL={} \\",
        sms.base_url(),
        sms.account_sid(),
        sms.auth_token(),
        sink.url()
    );
    let maps = switchboard_standins::maps::MapsStandin::start_with_demo_places("127.0.0.1:0".parse()?)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the maps stand-in: {e}"))?;
    println!("Maps (Nominatim search, OSRM routes; knows the demo addresses) at {}", maps.base_url());
    println!(
        "  SWITCHBOARD_S3_ENDPOINT={} SWITCHBOARD_S3_BUCKET={} SWITCHBOARD_S3_ACCESS_KEY={} SWITCHBOARD_S3_SECRET_KEY={} \\",
        bucket.endpoint, bucket.bucket, bucket.access_key, bucket.secret_key
    );
    println!("  SWITCHBOARD_GEOCODER_URL={0} SWITCHBOARD_OSRM_URL={0} \\", maps.base_url());
    let snpp = switchboard_standins::snpp::SnppStandin::start("127.0.0.1:0".parse()?)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the paging stand-in: {e}"))?;
    let push = switchboard_standins::push::PushStandin::start("127.0.0.1:0".parse()?)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the push stand-in: {e}"))?;
    let fax = switchboard_standins::fax::FaxGateway::over(&sink, "fax.standin.localhost");
    println!(
        "  SWITCHBOARD_SNPP_URL={} SWITCHBOARD_FAX_GATEWAY='{}' SWITCHBOARD_PUSH_ORIGINS={}",
        snpp.url(),
        fax.pattern(),
        push.origin()
    );
    println!("Paging server (SNPP) at {}; faxes land in the SMTP sink", snpp.url());
    println!(
        "Web Push service at {0}: POST {0}/subscriptions {{\"applicationServerKey\": ...}} subscribes like a browser",
        push.origin()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}

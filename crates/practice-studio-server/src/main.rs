//! `practice-studio-server`: the Practice Studio API on one address, and its admin commands.

use std::io::{BufRead, Write as _};

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use practice_studio_server::auth::{new_secret, parse_scopes, password, secret_hash, Role, Tier};
use practice_studio_server::storage::{ApiKeyRecord, ClientRecord, UserRecord};
use practice_studio_server::{demo, Database, Server, Today};

/// The Practice Studio API reference server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// SQLite database file, or a PostgreSQL URL (`postgres://user@host:port/db`, which several
    /// instances may share) [default: a temporary SQLite file, removed on exit].
    #[arg(long, value_name = "PATH|URL", value_parser = parse_database)]
    database: Option<Database>,
    /// Serve generated demo data (and the fixed demo identities).
    #[arg(long)]
    demo: bool,
    /// Seed of the generated demo data: the same seed and day give the same data.
    #[arg(long, default_value_t = 1, requires = "demo")]
    demo_seed: u64,
    /// How many patients the demo generates.
    #[arg(long, default_value_t = 2_000, requires = "demo")]
    demo_patients: u64,
    /// The date the demo treats as today (YYYY-MM-DD), so demos and tests see a chosen weekday.
    #[arg(long, value_name = "YYYY-MM-DD", requires = "demo")]
    demo_today: Option<NaiveDate>,
    /// Play a clinic day on the demo data (check-ins, rooms, completions, no-shows, new
    /// patients), one step every SECONDS (15 when given without a value), so live updates,
    /// webhooks and the change feed can be watched.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "15", requires = "demo")]
    demo_activity: Option<u64>,
    /// Lift the rate limit for this client id (benchmarks and API fuzzing); repeatable.
    #[arg(long = "unlimited-client", value_name = "CLIENT_ID")]
    unlimited_clients: Vec<String>,
    /// Seconds a running request holds its Idempotency-Key before a retry may take it over (after
    /// a crash the request never finished).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
    idempotency_lease: u32,
    /// Days a finished Idempotency-Key is remembered (longer than a desk may stay offline).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    idempotency_retention_days: u32,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u32).range(60..=86_400))]
    token_ttl: u32,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage users, clients and API keys in a database.
    Admin {
        /// The SQLite database file, or a PostgreSQL URL.
        #[arg(long, value_name = "PATH|URL", value_parser = parse_database)]
        database: Database,
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Create a staff user; the password is read from standard input.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// reception, clinician, billing or admin.
        #[arg(long)]
        role: String,
    },
    /// Create an OAuth client; a confidential client's secret is printed once.
    CreateClient {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// standard, premium or enterprise.
        #[arg(long, default_value = "standard")]
        tier: String,
        /// Requests per minute (enterprise only; others use their tier's limit).
        #[arg(long)]
        rate: Option<u32>,
        /// Space-separated scopes.
        #[arg(long)]
        scopes: String,
        /// Space-separated grant types.
        #[arg(long, default_value = "client_credentials")]
        grants: String,
        /// A public client (no secret; PKCE), like a desktop app.
        #[arg(long)]
        public: bool,
    },
    /// Create a legacy API key; it is printed once.
    CreateApiKey {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "standard")]
        tier: String,
        #[arg(long)]
        scopes: String,
    },
    /// Revoke an API key by id.
    RevokeApiKey {
        #[arg(long)]
        id: String,
    },
    /// Disable a client and revoke its tokens.
    DisableClient {
        #[arg(long)]
        id: String,
    },
    /// Revoke every token of a user.
    RevokeUserTokens {
        #[arg(long)]
        email: String,
    },
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // The chain of causes, one line, for a person; no backtrace.
            eprintln!("practice-studio-server: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        // Logs go to stderr; stdout carries only the start-up lines a supervisor or test reads.
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Admin { database, action }) => admin(&database, action).await,
        None => serve(cli.serve).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let today = args.demo_today.map_or(Today::System, Today::Fixed);
    let mut builder = Server::builder()
        .bind(args.bind.clone())
        .demo(args.demo)
        .demo_seed(args.demo_seed)
        .demo_patients(args.demo_patients)
        .demo_activity(args.demo_activity.map(std::time::Duration::from_secs))
        .today(today)
        .settings(practice_studio_server::app::Settings {
            unlimited_clients: args.unlimited_clients.clone(),
            idempotency_lease: chrono::Duration::seconds(i64::from(args.idempotency_lease)),
            idempotency_retention: chrono::Duration::days(i64::from(
                args.idempotency_retention_days,
            )),
            ..Default::default()
        })
        .token_ttl(chrono::Duration::seconds(i64::from(args.token_ttl)));
    if let Some(database) = &args.database {
        builder = builder.storage(database.clone());
    }
    let server = builder
        .start()
        .await
        .with_context(|| format!("starting the Practice Studio server on {}", args.bind))?;
    // Written, not `println!`ed: a supervisor that read the address and closed the pipe must not
    // stop the server.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "Practice Studio server listening on {}{}",
        server.url(),
        if args.demo { " (demo data)" } else { "" }
    );
    if args.demo {
        let _ = writeln!(stdout, "{}", demo::identities_text());
    }
    let _ = stdout.flush();
    drop(stdout);
    server
        .serve_until_signal()
        .await
        .context("serving the Practice Studio API")
}

fn parse_or_fail<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> anyhow::Result<T> {
    result.map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

fn parse_database(text: &str) -> Result<Database, std::convert::Infallible> {
    Ok(Database::from_arg(text))
}

async fn admin(database: &Database, action: AdminAction) -> anyhow::Result<()> {
    let storage = database
        .open()
        .await
        .with_context(|| format!("opening {database}"))?;
    let now = chrono::Utc::now();
    match action {
        AdminAction::CreateUser { email, name, role } => {
            let role: Role = parse_or_fail("--role", role.parse())?;
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let password_text = line.trim_end_matches(['\r', '\n']);
            if password_text.chars().count() < 10 {
                anyhow::bail!("the password must be at least 10 characters");
            }
            let id = format!("USR-{}", &new_secret("")[..10]);
            storage
                .insert_user(&UserRecord {
                    id: id.clone(),
                    email,
                    name,
                    role,
                    password_hash: parse_or_fail("hashing", password::hash(password_text))?,
                    failed_logins: 0,
                    locked_until: None,
                    active: true,
                })
                .await?;
            println!("created user {id}");
        }
        AdminAction::CreateClient {
            id,
            name,
            tier,
            rate,
            scopes,
            grants,
            public,
        } => {
            let tier: Tier = parse_or_fail("--tier", tier.parse())?;
            if rate.is_some() && tier != Tier::Enterprise {
                anyhow::bail!(
                    "--rate is for enterprise clients; other tiers use their tier's limit"
                );
            }
            let grants: Vec<String> = grants.split_whitespace().map(str::to_owned).collect();
            if public && grants.iter().any(|g| g == "client_credentials") {
                anyhow::bail!("a public client cannot use client_credentials");
            }
            let secret = (!public).then(|| new_secret("ps_cs_"));
            storage
                .insert_client(&ClientRecord {
                    id: id.clone(),
                    name,
                    secret_hash: secret
                        .as_deref()
                        .map(password::hash)
                        .transpose()
                        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?,
                    tier,
                    rate_per_minute: rate.unwrap_or(tier.default_rate()),
                    scopes: parse_or_fail("--scopes", parse_scopes(&scopes))?,
                    grants,
                    active: true,
                })
                .await?;
            match secret {
                Some(secret) => println!("created client {id}; its secret (shown once): {secret}"),
                None => println!("created public client {id}"),
            }
        }
        AdminAction::CreateApiKey { name, tier, scopes } => {
            let tier: Tier = parse_or_fail("--tier", tier.parse())?;
            let key = new_secret("ps_key_");
            let id = format!("KEY-{}", &new_secret("")[..10]);
            storage
                .insert_api_key(
                    &ApiKeyRecord {
                        id: id.clone(),
                        name,
                        tier,
                        rate_per_minute: tier.default_rate(),
                        scopes: parse_or_fail("--scopes", parse_scopes(&scopes))?,
                        revoked: false,
                    },
                    &secret_hash(&key),
                    now,
                )
                .await?;
            println!("created API key {id} (shown once): {key}");
        }
        AdminAction::RevokeApiKey { id } => {
            if !storage.revoke_api_key(&id).await? {
                anyhow::bail!("no API key {id}");
            }
            println!("revoked API key {id}");
        }
        AdminAction::DisableClient { id } => {
            if !storage.set_client_active(&id, false).await? {
                anyhow::bail!("no client {id}");
            }
            println!("disabled client {id} and revoked its tokens");
        }
        AdminAction::RevokeUserTokens { email } => {
            let user = storage
                .user_by_email(&email)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user {email}"))?;
            let n = storage.revoke_user_tokens(&user.id).await?;
            println!("revoked {n} tokens of {email}");
        }
    }
    Ok(())
}

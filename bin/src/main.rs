//! `counterpart`: the one binary. Every subcommand takes `--db URL` (env `COUNTERPART_DB`).

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use domain::audit::Actor;
use domain::users::Role;
use services::figures::Engine;
use std::io::Read;
use std::path::PathBuf;
use store::{Crypto, DbUrl, Store, StoreError};

mod tls;

#[derive(Parser)]
#[command(name = "counterpart", version, about = "对口支援信息系统 Counterpart")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// Database: sqlite://PATH (created on first use) or postgres://USER@HOST/DB
    #[arg(long, env = "COUNTERPART_DB", default_value = "sqlite://counterpart.db", global = true)]
    db: String,
    /// File holding the key for personal data (64 hex digits; created on first use).
    /// The environment variable COUNTERPART_KEY, when set, is used instead.
    #[arg(long, env = "COUNTERPART_KEY_FILE", default_value = "counterpart.key", global = true)]
    key_file: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve the web application.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Load the demo program first when the database is empty.
        #[arg(long)]
        demo: bool,
        /// Serve HTTPS with this certificate (PEM, the server's certificate first, then the
        /// chain); together with --tls-key.
        #[arg(long, env = "COUNTERPART_TLS_CERT")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM: PKCS#8, RSA or EC, not encrypted).
        #[arg(long, env = "COUNTERPART_TLS_KEY")]
        tls_key: Option<PathBuf>,
        /// The largest upload in MB (a spreadsheet to import); a larger request is refused with
        /// 413 before it is read.
        #[arg(long, env = "COUNTERPART_MAX_UPLOAD_MB", default_value_t = 64)]
        max_upload_mb: u32,
        #[command(flatten)]
        smtp: SmtpArgs,
        #[command(flatten)]
        pacs: PacsArgs,
    },
    /// The PACS (Orthanc) of the remote imaging centre: `check` that it answers and lets us in,
    /// or `sync`: read its change feed once and record the studies it names (the server does this
    /// every few seconds when --orthanc-url is set).
    Pacs {
        #[command(subcommand)]
        command: PacsCommand,
        #[command(flatten)]
        pacs: PacsArgs,
    },
    /// Give every user today's digest of the warnings, overdue orders and due reports in their
    /// scope now (the server does this each day from 08:00 Beijing time; once a day either way).
    Digest,
    /// Bring the database schema up to date.
    Migrate,
    /// Load the demo program (Jiangxi → Kizilsu) into an empty database.
    Demo,
    /// Write deterministic synthetic data (organizations, people, pairings, projects with status
    /// and funding, activities, indicator values) through the ordinary checked and audited write
    /// path, into the program there is or a new one (Jiangxi → Kizilsu, with figures and report
    /// template). For benchmarks and trials; the same seed gives the same data.
    Generate {
        /// demo (600 projects, 10,000 activities), province (6,000 / 100,000) or national
        /// (60,000 / 1,000,000: the bench-1M shape); the rest scales with the activities.
        #[arg(long, default_value = "demo")]
        scale: String,
        /// Number of projects (instead of the scale's).
        #[arg(long)]
        projects: Option<usize>,
        /// Number of activities (instead of the scale's).
        #[arg(long)]
        activities: Option<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Records per transaction.
        #[arg(long, default_value_t = 5000)]
        chunk: usize,
        /// Per cent of people given an identity number and a phone (stored encrypted).
        #[arg(long, default_value_t = 20)]
        identified: u32,
    },
    /// Compute every figure defined in the database.
    Figures {
        /// Print one JSON object { "key": number, … }.
        #[arg(long)]
        json: bool,
    },
    /// Generate a report from a template for a period and a scope.
    Report {
        /// The template's key (e.g. summary).
        template: String,
        /// FROM..TO, dates YYYY-MM-DD, both inclusive.
        #[arg(long)]
        period: String,
        /// A place (GB/T 2260 code), a line of work (education, medical…) or an organization (its
        /// code); the whole program without it.
        #[arg(long)]
        scope: Option<String>,
        /// html, docx or xlsx.
        #[arg(long, default_value = "html")]
        format: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Import a spreadsheet (XLSX, or CSV in UTF-8 or GBK) of one record type: all rows or none.
    Import {
        file: PathBuf,
        /// The record type: its slug (projects, activities, people…) or Chinese name.
        #[arg(long = "type")]
        kind: String,
        /// Check every row against the rules and the database; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Rows whose code (or ID) exists update that record; blank cells keep stored values.
        #[arg(long)]
        update: bool,
        /// On errors, also write the error report (XLSX) here.
        #[arg(long)]
        error_report: Option<PathBuf>,
    },
    /// Write the import template (XLSX) of a record type.
    Template {
        #[arg(long = "type")]
        kind: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Export a list (a record type, with filters) to XLSX or CSV, or the program's projects as
    /// an IATI 2.03 activity file.
    Export {
        /// The record type (projects, funding, people, activities…); not needed for iati.
        #[arg(long = "type")]
        kind: Option<String>,
        /// xlsx, csv or iati.
        #[arg(long)]
        format: String,
        #[arg(long)]
        out: PathBuf,
        /// FIELD=VALUE, a filter of the list (repeatable): --filter sector=education.
        #[arg(long = "filter")]
        filters: Vec<String>,
        /// Personal identifiers in clear (the export is audited); masked without it.
        #[arg(long)]
        unmasked: bool,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Personal API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// A consistent backup while the server runs: on SQLite a copy of the database file
    /// (`--format sqlite`, the default there), on either backend the portable archive of every
    /// record (`--format archive`, the default on PostgreSQL; gzip'd JSON lines with an SM3
    /// digest). Keep the key file with it: personal data in both is encrypted.
    Backup {
        #[arg(long)]
        out: PathBuf,
        /// sqlite or archive.
        #[arg(long)]
        format: Option<String>,
    },
    /// Restore a backup (a SQLite copy or an archive) into the empty database given by --db,
    /// with the key file of the system it came from.
    Restore { file: PathBuf },
    /// The audit log: verify its SM3 hash chain, or apply the retention rule.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The key of personal data.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the whole log and report the first entry where the chain breaks (exit status 1).
    Verify,
    /// Remove entries older than --keep-days (at least 180), moving the chain's base; audited.
    Prune {
        #[arg(long, default_value_t = 365)]
        keep_days: u32,
    },
}

/// The optional e-mail sender: notifications are mailed to users with an address through this
/// SMTP relay (plain SMTP, AUTH PLAIN when a user is given).
#[derive(clap::Args, Debug, Clone)]
struct SmtpArgs {
    #[arg(long, env = "COUNTERPART_SMTP_HOST")]
    smtp_host: Option<String>,
    #[arg(long, env = "COUNTERPART_SMTP_PORT", default_value_t = 25)]
    smtp_port: u16,
    /// The sender address (发件人).
    #[arg(long, env = "COUNTERPART_SMTP_FROM", default_value = "counterpart@localhost")]
    smtp_from: String,
    #[arg(long, env = "COUNTERPART_SMTP_USER")]
    smtp_user: Option<String>,
    /// Read from the environment only, never from the command line.
    #[arg(skip = std::env::var("COUNTERPART_SMTP_PASSWORD").ok())]
    smtp_password: Option<String>,
    /// The address links in mails point at.
    #[arg(long, env = "COUNTERPART_BASE_URL", default_value = "http://127.0.0.1:8080")]
    base_url: String,
}

impl SmtpArgs {
    fn settings(&self) -> Option<services::warnings::SmtpSettings> {
        self.smtp_host.as_ref().filter(|h| !h.trim().is_empty()).map(|h| services::warnings::SmtpSettings {
            host: h.trim().to_string(),
            port: self.smtp_port,
            from: self.smtp_from.clone(),
            user: self.smtp_user.clone(),
            password: self.smtp_password.clone(),
            base_url: self.base_url.clone(),
        })
    }
}

/// The PACS of the remote imaging centre (Orthanc's REST API).
#[derive(clap::Args, Debug, Clone)]
struct PacsArgs {
    /// Orthanc's address, http://HOST:PORT[/PREFIX]; off without it.
    #[arg(long, global = true, env = "COUNTERPART_ORTHANC_URL")]
    orthanc_url: Option<String>,
    #[arg(long, global = true, env = "COUNTERPART_ORTHANC_USER")]
    orthanc_user: Option<String>,
    /// Read from the environment only, never from the command line.
    #[arg(skip = std::env::var("COUNTERPART_ORTHANC_PASSWORD").ok())]
    orthanc_password: Option<String>,
    /// Seconds between two reads of its change feed (`serve`).
    #[arg(long, global = true, env = "COUNTERPART_ORTHANC_POLL_SECS", default_value_t = 5)]
    orthanc_poll_secs: u64,
}

impl PacsArgs {
    /// The client, when an address is set (checked here, before anything else starts).
    fn client(&self) -> anyhow::Result<Option<services::pacs::Orthanc>> {
        let Some(url) = self.orthanc_url.as_ref().filter(|u| !u.trim().is_empty()) else { return Ok(None) };
        if !(1..=3600).contains(&self.orthanc_poll_secs) {
            bail!("--orthanc-poll-secs 须在 1–3600 之间，不能是 {}", self.orthanc_poll_secs);
        }
        Ok(Some(services::pacs::Orthanc::new(&services::pacs::OrthancSettings {
            url: url.trim().to_string(),
            user: self.orthanc_user.clone(),
            password: self.orthanc_password.clone(),
        })?))
    }
}

#[derive(Subcommand, Debug, Clone, Copy)]
enum PacsCommand {
    /// Ask the PACS for its name and version (a check of the address and the account).
    Check,
    /// Read the change feed once, to its end, and print what was recorded.
    Sync,
}

/// The PACS reader: the change feed read every `every`, a failure logged and tried again.
fn pacs_reader(store: store::Store, orthanc: services::pacs::Orthanc, every: std::time::Duration) {
    tokio::spawn(async move {
        let actor = services::pacs::actor();
        let mut failing = false;
        loop {
            match services::pacs::sync(&store, &orthanc, &actor).await {
                Ok(s) => {
                    if failing {
                        tracing::info!("PACS reachable again");
                        failing = false;
                    }
                    if s.created + s.updated + s.deleted > 0 {
                        tracing::info!(
                            created = s.created,
                            updated = s.updated,
                            deleted = s.deleted,
                            cursor = s.cursor,
                            "PACS studies recorded"
                        );
                    }
                }
                Err(e) => {
                    // Once per outage, not every few seconds.
                    if !failing {
                        tracing::warn!("reading the PACS failed (tried again every {} s): {e}", every.as_secs());
                        failing = true;
                    }
                }
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// The server's daily digest (from 08:00 Beijing time, once a day) and, with SMTP settings,
/// the e-mail sender (every minute).
fn background(store: store::Store, smtp: Option<services::warnings::SmtpSettings>) {
    let digests = store.clone();
    tokio::spawn(async move {
        let mut done: Option<domain::Date> = None;
        loop {
            let now = chrono::Utc::now() + chrono::Duration::hours(8);
            let today = store::reporting::today();
            if done != Some(today) && chrono::Timelike::hour(&now) >= 8 {
                match digests.default_program().await {
                    Ok(p) => {
                        match services::warnings::digest(&digests, p.get(), today, &domain::audit::Actor::system())
                            .await
                        {
                            Ok(d) => {
                                tracing::info!(users = d.users, notified = d.notified, "daily digest");
                                done = Some(today);
                            }
                            Err(e) => tracing::warn!("daily digest failed: {e}"),
                        }
                    }
                    Err(e) => tracing::warn!("daily digest: no program: {e}"),
                }
            }
            tokio::time::sleep(std::time::Duration::from_secs(600)).await;
        }
    });
    if let Some(settings) = smtp {
        let mailer = services::warnings::Mailer { settings };
        tokio::spawn(async move {
            loop {
                match mailer.send_pending(&store, 200).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(sent = n, "notifications mailed"),
                    Err(e) => tracing::warn!("mailing failed: {e}"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            }
        });
    }
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Encrypt every personal identifier again under a new key, in one transaction; then the
    /// new key replaces the key file (the old one is kept beside it as KEYFILE.retired-FINGERPRINT).
    /// Sessions end and API tokens are revoked.
    Rotate,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user and print it (shown only this once).
    Create {
        /// The user's name.
        user: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Days until it expires (1–365).
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        name: String,
        /// sysadmin, secadmin, auditor, manager, reporter or viewer (or the Chinese name)
        #[arg(long)]
        role: String,
        /// Code of the organization the user belongs to.
        #[arg(long)]
        org: Option<String>,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("错误：无法启动运行时：{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            std::process::ExitCode::FAILURE
        }
    }
}

/// The demo accounts, printed once: the passwords are stored only as hashes.
fn print_accounts(accounts: &[services::demo::DemoAccount]) {
    println!("演示账户（密码只显示这一次，首次登录须修改）：");
    for a in accounts {
        let org = a.org.map(|o| format!("，单位 {o}")).unwrap_or_default();
        println!("  {:<15} {}（{}{org}）  密码 {}", a.name, a.role.label(), a.role.code(), a.password);
    }
}

fn report(e: &anyhow::Error) {
    if let Some(StoreError::Invalid(inv)) = e.downcast_ref::<StoreError>() {
        eprintln!("错误：数据校验未通过，未写入任何数据：");
        for i in &inv.0 {
            eprintln!("  - {i}");
        }
        return;
    }
    if let Some(services::ServiceError::Store(StoreError::Invalid(inv))) = e.downcast_ref::<services::ServiceError>() {
        eprintln!("错误：数据校验未通过，未写入任何数据：");
        for i in &inv.0 {
            eprintln!("  - {i}");
        }
        return;
    }
    eprintln!("错误：{e:#}");
}

/// Open the database with the configured key, creating the key file on first use. A key file
/// created in this call is removed again when the database turns out to need another key.
async fn open(g: &Global) -> anyhow::Result<Store> {
    let url = DbUrl::parse(&g.db)?;
    let (crypto, created) = match std::env::var("COUNTERPART_KEY") {
        Ok(hex) if !hex.trim().is_empty() => (Crypto::from_hex(&hex)?, false),
        _ => Crypto::from_file(&g.key_file, true)?,
    };
    if created {
        tracing::info!(path = %g.key_file.display(), "created a new key file for personal data; back it up with the database");
    }
    match Store::open(&url, crypto).await {
        Ok(s) => Ok(s),
        Err(e) => {
            if created {
                let _ = std::fs::remove_file(&g.key_file);
            }
            Err(e.into())
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Pacs { command, pacs } => {
            let Some(orthanc) = pacs.client()? else {
                bail!("没有设置 PACS 地址：请给出 --orthanc-url（或环境变量 COUNTERPART_ORTHANC_URL）");
            };
            match command {
                PacsCommand::Check => {
                    let v = orthanc.system().await?;
                    println!(
                        "PACS 可用：{} {}（{}）",
                        v["Name"].as_str().unwrap_or("Orthanc"),
                        v["Version"].as_str().unwrap_or(""),
                        v["DicomAet"].as_str().unwrap_or("")
                    );
                }
                PacsCommand::Sync => {
                    let store = open(g).await?;
                    let s = services::pacs::sync(&store, &orthanc, &services::pacs::actor()).await?;
                    println!(
                        "已读取 PACS 变更 {} 条：新检查 {} 个，更新 {} 个，删除 {} 个；读到序号 {}。",
                        s.changes, s.created, s.updated, s.deleted, s.cursor
                    );
                }
            }
        }
        Command::Migrate => {
            let store = open(g).await?;
            println!("数据库结构已是最新（{}）。", store.backend().name());
        }
        Command::Demo => {
            let store = open(g).await?;
            let s = services::demo::load(&store).await?;
            println!(
                "已载入演示数据：单位 {} 个，人员 {} 名，项目 {} 个，活动 {} 场，指标 {} 项。",
                s.organizations, s.people, s.projects, s.activities, s.figures
            );
            print_accounts(&s.accounts);
        }
        Command::Generate { scale, projects, activities, seed, chunk, identified } => {
            use services::generate::{generate, Options, Plan, Progress, Scale};
            let Some(sc) = Scale::parse(&scale) else {
                bail!("--scale 须为 demo、province 或 national，不能是“{scale}”")
            };
            if identified > 100 {
                bail!("--identified 是百分比，须在 0–100 之间");
            }
            if chunk == 0 {
                bail!("--chunk 须为正整数");
            }
            let mut opt = Options::new(sc, projects, activities, seed);
            opt.chunk = chunk;
            opt.identified_percent = identified;
            let plan = Plan::new(&opt);
            let store = open(g).await?;
            eprintln!(
                "生成数据（种子 {seed}，{}）：项目 {}，活动 {}，人员 {}，单位 {}，结对 {}，指标值约 {}",
                store.backend().name(),
                plan.projects,
                plan.activities,
                plan.people,
                plan.organizations,
                plan.pairings,
                plan.indicator_values
            );
            let mut show = |p: &Progress| {
                eprintln!(
                    "  {:<17} {:>9}/{:<9} 已写入 {:>9} 条，{:>7.0} 条/秒，{:>6.1} 秒",
                    p.phase,
                    p.done,
                    p.total,
                    p.rows,
                    p.rows_per_sec(),
                    p.elapsed.as_secs_f64()
                )
            };
            let s = generate(&store, &opt, &mut show).await?;
            println!(
                "已生成（援疆工作编号 {}{}）：单位 {} 个，人员 {} 名（其中登记身份证号 {} 名），结对 {} 对，项目 {} 个（状态 {} 步，资金 {} 条，产出 {} 条），活动 {} 场（手术量 {} 条），指标值 {} 条，目标 {} 条。",
                s.program_id,
                if s.created_program { "，新建" } else { "" },
                s.organizations,
                s.people,
                s.identified_people,
                s.pairings,
                s.projects,
                s.status_events,
                s.funding_lines,
                s.outputs,
                s.activities,
                s.procedures,
                s.indicator_values,
                s.indicator_targets
            );
            println!(
                "共写入 {} 条记录、{} 条审计记录，用时 {:.1} 秒，{:.0} 条/秒。",
                s.records,
                s.audit_entries,
                s.seconds,
                s.rows_per_sec()
            );
        }
        Command::Figures { json } => {
            let store = open(g).await?;
            let board = Engine::new(&store).all().await?;
            if json {
                let mut m = serde_json::Map::new();
                for f in &board.values {
                    // A median or a share over no record has no value.
                    if f.empty {
                        m.insert(f.key.clone(), serde_json::Value::Null);
                        continue;
                    }
                    let n = match f.display.parse::<i64>() {
                        Ok(i) => serde_json::Number::from(i),
                        Err(_) => serde_json::Number::from_f64(f.value).context("figure is not a finite number")?,
                    };
                    m.insert(f.key.clone(), serde_json::Value::Number(n));
                }
                for f in &board.failed {
                    m.insert(f.key.clone(), serde_json::Value::Null);
                }
                println!("{}", serde_json::Value::Object(m));
            } else {
                for f in &board.values {
                    println!("{:<40} {:>14} {:<6} {}", f.key, f.display, f.unit, f.name);
                }
            }
            if !board.failed.is_empty() {
                for f in &board.failed {
                    eprintln!("无法计算 {}（{}）：{}", f.key, f.name, f.message);
                }
                anyhow::bail!("{} 个指标无法计算", board.failed.len());
            }
        }
        Command::Report { template, period, scope, format, out } => {
            use services::reports::{evaluate::Request, generate, parse_period, resolve_scope, write, Output};
            let output = Output::parse(&format)?;
            let (from, to) = parse_period(&period)?;
            let store = open(g).await?;
            let sc = resolve_scope(&store, scope.as_deref()).await?;
            let req = Request::new(template, from, to, sc, "命令行".into());
            let (id, r) = generate(&store, &Actor::system(), &req).await?;
            let bytes = write(&r, output)?;
            std::fs::write(&out, &bytes).with_context(|| format!("无法写入 {}", out.display()))?;
            println!(
                "已生成报告 {}（第 {} 版，编号 {id}）：{} 个指标，{} 字节，写入 {}",
                r.title,
                r.version,
                r.figures.len(),
                bytes.len(),
                out.display()
            );
        }
        Command::Import { file, kind, dry_run, update, error_report } => {
            use services::exchange::{import, sheet};
            let t = import::record_type(&kind)?;
            let bytes = std::fs::read(&file).with_context(|| format!("无法读取 {}", file.display()))?;
            let sheet = sheet::read(&bytes, t.zh)?;
            let store = open(g).await?;
            let outcome =
                import::import(&store, &Actor::system(), t, &sheet, import::Options { update, dry_run }).await?;
            if !outcome.ignored_columns.is_empty() {
                eprintln!("提示：以下列不是{}的字段，已忽略：{}", t.zh, outcome.ignored_columns.join("、"));
            }
            if outcome.errors.is_empty() {
                println!("{}", outcome.summary());
            } else {
                eprintln!("{}（未写入任何数据）：", outcome.summary());
                for e in &outcome.errors {
                    eprintln!("  {}", e.line());
                }
                if let Some(path) = error_report {
                    let report = import::error_report(t, &sheet, &outcome)?;
                    std::fs::write(&path, report).with_context(|| format!("无法写入 {}", path.display()))?;
                    eprintln!("错误报告已写入 {}", path.display());
                }
                bail!("{}", outcome.summary());
            }
        }
        Command::Template { kind, out } => {
            let t = services::exchange::import::record_type(&kind)?;
            let store = open(g).await?;
            let bytes = services::exchange::template::template(&store, &Actor::system(), t).await?;
            std::fs::write(&out, &bytes).with_context(|| format!("无法写入 {}", out.display()))?;
            println!("已写入{}导入模板：{}", t.zh, out.display());
        }
        Command::Export { kind, format, out, filters, unmasked } => {
            use services::exchange::{export, iati};
            let store = open(g).await?;
            let file = || std::fs::File::create(&out).with_context(|| format!("无法写入 {}", out.display()));
            if format.trim().eq_ignore_ascii_case("iati") {
                let today = domain::Date::from_naive((chrono::Utc::now() + chrono::Duration::hours(8)).date_naive());
                let mut w = std::io::BufWriter::new(file()?);
                let s = iati::write(&store, &Actor::system(), today, &mut w).await?;
                println!(
                    "已导出 IATI {} 文件：{} 个项目，报告单位 {}，写入 {}",
                    iati::VERSION,
                    s.activities,
                    s.reporting_org,
                    out.display()
                );
            } else {
                let fmt = export::Format::parse(&format)?;
                let t = services::exchange::import::record_type(
                    kind.as_deref().context("导出列表须指定 --type（记录类型，如 projects）")?,
                )?;
                let q = store::records::ListQuery { filters: export::filters(&filters)?, ..Default::default() };
                let reveal = if unmasked { domain::people::Reveal::Clear } else { domain::people::Reveal::Masked };
                let e = export::Export::open(&store, &Actor::system(), t, &q, reveal).await?;
                let rows = match fmt {
                    export::Format::Csv => e.write_csv(&mut std::io::BufWriter::new(file()?)).await?,
                    export::Format::Xlsx => e.write_xlsx(&out).await?,
                };
                println!("已导出{} {rows} 条，写入 {}", t.zh, out.display());
            }
        }
        Command::User { command: UserCommand::Add { name, role, org } } => {
            let role = Role::parse(&role).map_err(StoreError::from)?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).context("无法从标准输入读取密码")?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                bail!("未从标准输入读到密码（例如：printf '%s' \"$PASSWORD\" | counterpart user add 张三 --role manager --org JX-CMD）");
            }
            let store = open(g).await?;
            let mut tx = store.write(&Actor::system()).await?;
            let id = tx.add_user(&name, role, org.as_deref(), password).await?;
            tx.commit().await?;
            println!("已创建用户“{name}”（编号 {id}，角色 {}）；首次登录须修改密码。", role.label());
        }
        Command::Token { command: TokenCommand::Create { user, name, days } } => {
            let store = open(g).await?;
            let Some(id) = store.user_named(&user).await? else { bail!("用户“{user}”不存在") };
            let t = store.create_token(&Actor::system(), id, &name, days).await?;
            eprintln!(
                "已为用户“{user}”创建 API 令牌“{name}”（编号 {}，到期 {}）；令牌只显示这一次：",
                t.id, t.expires_at
            );
            println!("{}", t.token);
        }
        Command::Backup { out, format } => {
            let store = open(g).await?;
            let format = format.unwrap_or_else(|| match store.backend() {
                store::Backend::Sqlite => "sqlite".into(),
                store::Backend::Postgres => "archive".into(),
            });
            match format.as_str() {
                "sqlite" => {
                    store.backup_sqlite_file(&out).await?;
                    println!("已备份数据库文件到 {}（与密钥文件一起保存）。", out.display());
                }
                "archive" => {
                    let file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&out)
                        .with_context(|| format!("无法新建 {}（已存在则不会覆盖）", out.display()))?;
                    let s = store.archive_to(std::io::BufWriter::new(file)).await?;
                    println!(
                        "已备份 {} 张表、{} 行（审计链至第 {} 条）到 {}（与密钥文件一起保存）。",
                        s.tables,
                        s.rows,
                        s.audit_head_seq,
                        out.display()
                    );
                }
                other => bail!("--format 取值须为 sqlite 或 archive，而不是“{other}”"),
            }
        }
        Command::Restore { file } => {
            let store = open(g).await?;
            let mut head = [0u8; 16];
            let n = std::fs::File::open(&file)
                .and_then(|mut f| f.read(&mut head))
                .with_context(|| format!("无法读取 {}", file.display()))?;
            let archive = if &head[..n] == b"SQLite format 3\0" {
                // A copy of a SQLite database: read it as a store with the same key, archive it
                // to a temporary file, and restore that.
                let url = DbUrl::parse(&format!("sqlite://{}", file.display()))?;
                let src = Store::connect(&url, store.crypto().clone()).await?;
                let tmp = std::env::temp_dir().join(format!("counterpart-restore-{}.archive", std::process::id()));
                let f = std::fs::File::create(&tmp).with_context(|| format!("无法写入 {}", tmp.display()))?;
                src.archive_to(std::io::BufWriter::new(f)).await?;
                src.close().await;
                tmp
            } else {
                file.clone()
            };
            let f = std::fs::File::open(&archive).with_context(|| format!("无法读取 {}", archive.display()))?;
            let r = store.restore_archive(&Actor::system(), std::io::BufReader::new(f)).await;
            if archive != file {
                let _ = std::fs::remove_file(&archive);
            }
            let s = r?;
            println!(
                "已恢复 {} 张表、{} 行；审计链至第 {} 条，恢复本身已记入审计日志。",
                s.tables, s.rows, s.audit_head_seq
            );
            let v = store.audit_verify().await?;
            if let Some(b) = v.broken {
                bail!("恢复后的审计链校验未通过：{}", b.reason);
            }
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let store = open(g).await?;
            let r = store.audit_verify().await?;
            match r.broken {
                None => println!(
                    "审计链完整：{} 条（链序号 {}–{}），链头 SM3 {}",
                    r.entries,
                    r.base_seq + 1,
                    r.head_seq,
                    r.head_hash
                ),
                Some(b) => {
                    eprintln!("审计链已被破坏：{}", b.reason);
                    store.close().await;
                    std::process::exit(1);
                }
            }
        }
        Command::Audit { command: AuditCommand::Prune { keep_days } } => {
            let store = open(g).await?;
            let p = store.audit_prune(&Actor::system(), chrono::Utc::now(), keep_days).await?;
            println!("已移除 {} 条早于 {} 的审计条目；审计链自第 {} 条之后开始。", p.removed, p.cutoff, p.base_seq);
        }
        Command::Key { command: KeyCommand::Rotate } => {
            if std::env::var("COUNTERPART_KEY").is_ok_and(|k| !k.trim().is_empty()) {
                bail!("密钥来自环境变量 COUNTERPART_KEY 时无法替换密钥文件：请改用 --key-file 再轮换");
            }
            let store = open(g).await?;
            let new_path = g.key_file.with_extension("key.new");
            let (new, _) = Crypto::from_file(&new_path, true)?;
            let r = store.rotate_key(&Actor::system(), &new).await?;
            store.close().await;
            let retired = g.key_file.with_extension(format!("key.retired-{}", r.old_fingerprint));
            std::fs::rename(&g.key_file, &retired).with_context(|| {
                format!("数据库已使用新密钥，但无法移走旧密钥文件；新密钥在 {}", new_path.display())
            })?;
            std::fs::rename(&new_path, &g.key_file).with_context(|| {
                format!("数据库已使用新密钥，请把 {} 改名为 {}", new_path.display(), g.key_file.display())
            })?;
            println!(
                "已用新密钥（指纹 {}）重新加密 {} 个个人信息值；旧密钥（指纹 {}）移至 {}。已结束 {} 个会话、吊销 {} 个 API 令牌。",
                r.new_fingerprint,
                r.values,
                r.old_fingerprint,
                retired.display(),
                r.sessions_ended,
                r.tokens_revoked
            );
        }
        Command::Digest => {
            let store = open(g).await?;
            let program = store.default_program().await?;
            let d = services::warnings::digest(
                &store,
                program.get(),
                store::reporting::today(),
                &domain::audit::Actor::system(),
            )
            .await?;
            println!("已生成今日预警摘要：{} 名用户中 {} 人收到通知。", d.users, d.notified);
            store.close().await;
        }
        Command::Serve { addr, demo, tls_cert, tls_key, max_upload_mb, smtp, pacs } => {
            if !(1..=4096).contains(&max_upload_mb) {
                bail!("--max-upload-mb 须在 1–4096 之间，不能是 {max_upload_mb}");
            }
            let orthanc = pacs.client()?;
            // The certificate and key are checked before the database is touched.
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(tls::server_config(&cert, &key)?),
                (None, None) => None,
                (Some(_), None) => bail!("给出了 --tls-cert 却没有 --tls-key：HTTPS 须同时给出证书与私钥"),
                (None, Some(_)) => bail!("给出了 --tls-key 却没有 --tls-cert：HTTPS 须同时给出证书与私钥"),
            };
            let store = open(g).await?;
            if demo {
                if store.is_empty().await? {
                    let s = services::demo::load(&store).await?;
                    println!(
                        "已载入演示数据：项目 {} 个，人员 {} 名，活动 {} 场。",
                        s.projects, s.people, s.activities
                    );
                    print_accounts(&s.accounts);
                } else {
                    println!("数据库已有数据，跳过载入演示数据。");
                }
            }
            background(store.clone(), smtp.settings());
            if let Some(o) = &orthanc {
                pacs_reader(store.clone(), o.clone(), std::time::Duration::from_secs(pacs.orthanc_poll_secs));
            }
            let config = web::Config { tls: tls.is_some(), max_upload: max_upload_mb as usize * 1024 * 1024, orthanc };
            let app =
                web::router_with(store.clone(), config).into_make_service_with_connect_info::<std::net::SocketAddr>();
            let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("无法监听 {addr}"))?;
            let scheme = if tls.is_some() { "https" } else { "http" };
            println!(
                "Counterpart 已启动：{scheme}://{addr}/ （数据库：{}，上传上限 {max_upload_mb} MB）",
                store.backend().name()
            );
            match tls {
                None => axum::serve(listener, app).with_graceful_shutdown(shutdown()).await.context("服务异常退出")?,
                Some(config) => {
                    let handle = axum_server::Handle::<std::net::SocketAddr>::new();
                    let stop = handle.clone();
                    tokio::spawn(async move {
                        shutdown().await;
                        stop.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
                    });
                    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(
                        axum_server::tls_rustls::RustlsConfig::from_config(std::sync::Arc::new(config)),
                    );
                    axum_server::Server::from_listener(listener)
                        .acceptor(acceptor)
                        .handle(handle)
                        .serve(app)
                        .await
                        .context("服务异常退出")?
                }
            }
            store.close().await;
        }
    }
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

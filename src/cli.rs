//! The command line: one binary, `aftercare`, with a subcommand per job.

use crate::configuration::{self, ClinicSettings};
use crate::engine::{self, Engine, Triage, load};
use crate::eval;
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "aftercare",
    version,
    about = "Aftercare questions after skin needling, answered from curated intents; worrying reports escalated to clinic staff."
)]
pub struct Cli {
    /// A TOML file of settings (same names as the environment variables, which win over it).
    #[arg(long, global = true, env = "AFTERCARE_CONFIG")]
    pub config: Option<PathBuf>,
    /// A folder of intent files to use instead of the built-in ones.
    #[arg(long, global = true)]
    pub intents: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Talk to the bot in this terminal, the same conversation as on Telegram (no token needed).
    Chat(ChatArgs),
    /// Answer one message, or JSON lines from stdin with --json.
    Ask(AskArgs),
    /// Validate intent files; prints file:line: message for each problem.
    Check {
        /// The folder to check (default: the configured intents, or the built-in ones).
        dir: Option<PathBuf>,
        /// Fail also when content is due for clinical review (see `reviewed_on` in intents/README.md).
        #[arg(long)]
        strict: bool,
    },
    /// Score the engine on a labelled JSON-lines file; fails when a floor is not met.
    Eval(EvalArgs),
    /// Run the Telegram bot: long polling, or a webhook with --webhook-url. Settings: see the README.
    Serve(ServeArgs),
    /// Apply the database migrations and exit (serve applies them too).
    Migrate,
    /// A start link for a client's aftercare card: opening it starts the bot with the treatment date set.
    /// Needs AFTERCARE_LINK_SECRET (the same as the bot's) and AFTERCARE_BOT_USERNAME.
    Link(LinkArgs),
    /// The weekly picture of a week, from the database: its chart written as a PNG, its figures printed.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Any date of the week (its Monday, say: 2026-11-23); by default the last full week.
    #[arg(long)]
    pub week: Option<chrono::NaiveDate>,
    /// Where to write the chart (PNG).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The treatment date: 2026-12-01, 1/12, today, yesterday, 3 days ago.
    #[arg(long)]
    pub date: String,
    /// Also write the link as a QR code to this PNG file, to print.
    #[arg(long)]
    pub qr: Option<PathBuf>,
    /// A note printed with the link for the clinic's own records (never part of the link, never stored).
    #[arg(long)]
    pub note: Option<String>,
}

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Days since the treatment, if you want to start with one (change it with /day N).
    #[arg(long)]
    pub day: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Receive updates on this public HTTPS URL instead of polling (Telegram calls it; the secret-token header
    /// is checked). The server listens on AFTERCARE_WEBHOOK_LISTEN (default 0.0.0.0:8443).
    #[arg(long, env = "AFTERCARE_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// Days since the treatment (0 = the treatment day).
    #[arg(long)]
    pub day: Option<u32>,
    /// Write JSON; without TEXT, read {"text": "...", "day": 3} lines from stdin.
    #[arg(long)]
    pub json: bool,
    /// Show how the answer was reached.
    #[arg(long)]
    pub explain: bool,
    /// The message (words are joined with spaces).
    pub text: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    pub file: PathBuf,
    #[arg(long, default_value_t = 1.0)]
    pub min_emergency_recall: f64,
    #[arg(long, default_value_t = 0.97)]
    pub min_urgent_recall: f64,
    #[arg(long, default_value_t = 0.90)]
    pub min_routine_recall: f64,
    #[arg(long, default_value_t = 0.03)]
    pub max_false_alarms: f64,
    /// Plain questions and normal reactions answered at `routine` (paging staff), at most.
    #[arg(long, default_value_t = 0.03)]
    pub max_staff_noise: f64,
    #[arg(long, default_value_t = 0.95)]
    pub min_answers: f64,
    /// Write the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a command. Problems with settings or intents are reported in one line and exit with status 2.
pub fn run(cli: &Cli) -> ExitCode {
    let result = match &cli.command {
        Command::Check { dir, strict } => return check(cli, dir.as_deref(), *strict),
        Command::Ask(args) => build_engine(cli).map(|(engine, clinic)| {
            let code = ask(&engine, &clinic, args);
            // The process ends here: freeing the engine's many small allocations one by one only delays
            // the exit (a tenth of a one-shot answer's time).
            std::mem::forget(engine);
            code
        }),
        Command::Eval(args) => build_engine(cli).map(|(engine, _)| run_eval(&engine, args)),
        Command::Chat(args) => chat(cli, args),
        Command::Serve(args) => serve(cli, args),
        Command::Migrate => migrate(cli),
        Command::Report(args) => report(cli, args),
        Command::Link(args) => link(cli, args),
    };
    result.unwrap_or_else(|message| {
        eprintln!("{message}");
        ExitCode::from(2)
    })
}

fn report(cli: &Cli, args: &ReportArgs) -> Result<ExitCode, String> {
    use crate::operations::{chart, weekly};
    let source =
        configuration::Source::from_process(cli.config.as_deref()).map_err(|e| e.to_string())?;
    let (engine, clinic) = engine_for(
        cli,
        &source,
        ClinicSettings::load(&source).map_err(|e| e.to_string())?,
    )?;
    let zone = clinic.time_zone;
    // The last full week, by the clinic's calendar.
    let monday = weekly::monday_of(args.week.unwrap_or_else(|| {
        chrono::Utc::now().with_timezone(&zone).date_naive() - chrono::Days::new(7)
    }));
    let url = configuration::database_url(&source);
    let picture = runtime()?.block_on(async {
        let db = crate::store::Db::connect(&url)
            .await
            .map_err(|e| format!("connecting to the database (DATABASE_URL): {e}"))?;
        db.migrate()
            .await
            .map_err(|e| format!("applying migrations: {e}"))?;
        let picture = weekly::picture(&db, &engine, zone, monday).await;
        db.close().await;
        picture.map_err(|e| format!("reading the week: {e}"))
    })?;
    let png =
        chart::weekly_png(picture.week, &picture.reports_by_day).map_err(|e| e.to_string())?;
    std::fs::write(&args.out, png)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    let (caption, questions) = picture.told(engine.texts());
    out!("{caption}");
    if let Some(questions) = questions {
        out!("{questions}");
    }
    out!("chart written to {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn serve(cli: &Cli, args: &ServeArgs) -> Result<ExitCode, String> {
    crate::operations::memory::use_few_arenas();
    let source =
        configuration::Source::from_process(cli.config.as_deref()).map_err(|e| e.to_string())?;
    let mut settings = configuration::Settings::load(&source).map_err(|e| e.to_string())?;
    if let Some(url) = &args.webhook_url {
        settings.webhook_url = Some(url.clone());
    }
    // The folder the intents are reloaded from (SIGHUP, a file changed) is the one they were loaded from.
    if let Some(dir) = &cli.intents {
        settings.intents_dir = Some(dir.display().to_string());
    }
    let sources = intent_sources(cli, &source)?;
    let engine = Engine::from_sources(&sources, &settings.clinic.clinic)
        .map_err(|e| format!("the intents are invalid (run `aftercare check`):\n{e}"))?;
    runtime()?
        .block_on(crate::startup::serve(settings, engine))
        .map_err(|e| format!("{e:#}"))?;
    Ok(ExitCode::SUCCESS)
}

fn link(cli: &Cli, args: &LinkArgs) -> Result<ExitCode, String> {
    use crate::timeline::start_link::{LinkId, StartLink, start_link_url};
    let source =
        configuration::Source::from_process(cli.config.as_deref()).map_err(|e| e.to_string())?;
    let clinic = ClinicSettings::load(&source).map_err(|e| e.to_string())?;
    let links = clinic.start_links.as_ref().ok_or(
        "start links are not set up: set AFTERCARE_LINK_SECRET to a long random secret (the bot must have the same)",
    )?;
    let bot = links.bot_username.as_deref().ok_or(
        "set AFTERCARE_BOT_USERNAME to the bot's Telegram username (e.g. MyClinicAftercareBot)",
    )?;
    let now = chrono::Utc::now();
    let today = now.with_timezone(&clinic.time_zone).date_naive();
    let treated_on = crate::flows::dates::parse_treatment_date(&args.date, today).map_err(|_| {
        format!(
            "--date {:?}: give the treatment date as 2026-12-01, 1/12, today or 3 days ago (not in the future, \
             at most a year ago)",
            args.date
        )
    })?;
    let link = StartLink {
        id: LinkId::random().map_err(|e| format!("no random numbers from the system: {e}"))?,
        treated_on,
        expires_at: now + links.valid_for,
    };
    let token = link
        .token(&links.secret)
        .ok_or("that date cannot be carried by a link")?;
    let url = start_link_url(bot, &token);
    if let Some(note) = &args.note {
        out!("{note}");
    }
    out!(
        "treatment {treated_on}, works once until {}",
        link.expires_at
            .with_timezone(&clinic.time_zone)
            .format("%Y-%m-%d %H:%M")
    );
    out!("{url}");
    if let Some(path) = &args.qr {
        let png = crate::timeline::qr::png(&url).map_err(|e| format!("QR code: {e}"))?;
        std::fs::write(path, png).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        out!("QR code written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn migrate(cli: &Cli) -> Result<ExitCode, String> {
    let source =
        configuration::Source::from_process(cli.config.as_deref()).map_err(|e| e.to_string())?;
    let url = configuration::database_url(&source);
    let done = runtime()?
        .block_on(crate::startup::migrate(&url))
        .map_err(|e| format!("{e:#}"))?;
    out!("{done}");
    Ok(ExitCode::SUCCESS)
}

/// The intents in force: `--intents`, else `AFTERCARE_INTENTS`, else the built-in copy.
pub fn intent_sources(
    cli: &Cli,
    source: &configuration::Source,
) -> Result<Vec<load::Source>, String> {
    let dir = cli
        .intents
        .clone()
        .or_else(|| configuration::intents_dir(source).map(PathBuf::from));
    match dir {
        Some(dir) => load::read_dir(&dir).map_err(|e| e.to_string()),
        None => Ok(load::embedded_sources()),
    }
}

/// "makeup.toml: makeup: not yet reviewed", for each intent due for review on `today`.
fn review_due(sources: &[load::Source], today: chrono::NaiveDate) -> Vec<String> {
    let Ok(content) = load::parse(sources) else {
        return Vec::new();
    };
    content
        .intents
        .iter()
        .filter_map(|(source, intent)| {
            let review = engine::review::Review::of(intent).ok()?;
            let due = review.overdue(intent.id.get_ref(), today)?;
            Some(format!("{}: {}", source.name, due.describe()))
        })
        .collect()
}

pub fn build_engine(cli: &Cli) -> Result<(Engine, ClinicSettings), String> {
    let source =
        configuration::Source::from_process(cli.config.as_deref()).map_err(|e| e.to_string())?;
    let clinic = ClinicSettings::load(&source).map_err(|e| e.to_string())?;
    engine_for(cli, &source, clinic)
}

fn engine_for(
    cli: &Cli,
    source: &configuration::Source,
    clinic: ClinicSettings,
) -> Result<(Engine, ClinicSettings), String> {
    let sources = intent_sources(cli, source)?;
    let engine = Engine::from_sources(&sources, &clinic.clinic)
        .map_err(|e| format!("the intents are invalid (run `aftercare check`):\n{e}"))?;
    Ok((engine, clinic))
}

fn check(cli: &Cli, dir: Option<&Path>, strict: bool) -> ExitCode {
    let sources = match dir {
        Some(dir) => load::read_dir(dir).map_err(|e| e.to_string()),
        None => configuration::Source::from_process(cli.config.as_deref())
            .map_err(|e| e.to_string())
            .and_then(|source| intent_sources(cli, &source)),
    };
    let sources = match sources {
        Ok(sources) => sources,
        Err(message) => {
            out!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let errors = engine::check(&sources);
    if errors.is_empty() {
        let intents = sources
            .iter()
            .filter(|s| s.name.ends_with(".toml"))
            .filter(|s| {
                !matches!(
                    load::base_name(&s.name),
                    load::MESSAGES_FILE
                        | load::LEXICON_FILE
                        | load::CONCEPTS_FILE
                        | crate::timeline::plan::CARE_PLAN_FILE
                )
            })
            .count();
        out!("ok: {intents} intents, the bot's own words and the care timeline checked");
        // The review dates are the clinic's calendar: today on this machine.
        let due = review_due(&sources, chrono::Local::now().date_naive());
        if !due.is_empty() {
            out!(
                "{} intent(s) due for clinical review{}:",
                due.len(),
                if strict {
                    ""
                } else {
                    " (--strict fails on them)"
                }
            );
            for line in &due {
                out!("  {line}");
            }
            if strict {
                return ExitCode::FAILURE;
            }
        }
        ExitCode::SUCCESS
    } else {
        for error in &errors {
            out!("{error}");
        }
        out!("{} problem(s)", errors.len());
        ExitCode::FAILURE
    }
}

fn today(clinic: &ClinicSettings) -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&clinic.time_zone)
        .date_naive()
}

#[derive(Debug, Deserialize)]
struct AskLine {
    text: String,
    #[serde(default)]
    day: Option<u32>,
}

/// One answer as `ask --json` writes it. Written straight from the triage rather than through a
/// `serde_json::Value` (a map built and freed per line): the fields are in the order that map gave them
/// (by name), and the confidence is widened to f64 as the map widened it, so the bytes are the same.
#[derive(serde::Serialize)]
struct AskOutput<'a> {
    category: engine::Category,
    confidence: f64,
    day: Option<u32>,
    escalation: engine::Level,
    intent: Option<&'a str>,
    red_flags: Vec<&'a str>,
    reply: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<&'a [String]>,
}

impl<'a> AskOutput<'a> {
    fn new(triage: &'a Triage, explain: bool) -> AskOutput<'a> {
        AskOutput {
            category: triage.category,
            confidence: f64::from(triage.confidence),
            day: triage.day,
            escalation: triage.escalation,
            intent: triage.intent.as_deref(),
            red_flags: triage.red_flags.iter().map(|f| f.id.as_str()).collect(),
            reply: &triage.reply,
            why: explain.then_some(triage.why.as_slice()),
        }
    }
}

/// Appends one JSON line for the triage.
fn write_triage_json(out: &mut Vec<u8>, triage: &Triage, explain: bool) {
    // Writing to a Vec cannot fail, and every field serialises.
    let _ = serde_json::to_writer(&mut *out, &AskOutput::new(triage, explain));
    out.push(b'\n');
}

fn ask(engine: &Engine, clinic: &ClinicSettings, args: &AskArgs) -> ExitCode {
    let date = today(clinic);
    if !args.text.is_empty() {
        let triage = engine.analyse(&args.text.join(" "), args.day, Some(date));
        if args.json {
            let mut line = Vec::new();
            write_triage_json(&mut line, &triage, args.explain);
            let _ = std::io::stdout().lock().write_all(&line);
        } else {
            print_triage(&mut std::io::stdout(), &triage, args.explain);
        }
        return ExitCode::SUCCESS;
    }
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // Lines are answered in chunks spread over the cores, and written in their input order.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Each worker writes its share's output into one buffer: no string per line.
    let answer = |part: &[(usize, std::io::Result<String>)]| -> Vec<u8> {
        let mut text = Vec::with_capacity(part.len() * 512);
        for (index, line) in part {
            answer_line(&mut text, engine, args, date, *index, line);
        }
        text
    };
    let mut lines = stdin.lock().lines().enumerate().peekable();
    let mut failed = false;
    // The helper threads live as long as the input: the regular expressions' caches (and the states their lazy
    // automata have built) stay warm in them instead of being made again for every chunk.
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers)
            .map(|_| {
                let (give, parts) =
                    std::sync::mpsc::channel::<Vec<(usize, std::io::Result<String>)>>();
                let (done, answers) = std::sync::mpsc::channel::<Vec<u8>>();
                scope.spawn(move || {
                    for part in parts {
                        if done.send(answer(&part)).is_err() {
                            break;
                        }
                    }
                });
                (give, answers)
            })
            .collect();
        while lines.peek().is_some() {
            let mut chunk: Vec<(usize, std::io::Result<String>)> =
                lines.by_ref().take(ASK_CHUNK_LINES).collect();
            // A line that is not UTF-8 is one error line; a read that fails (standard input is a directory, the
            // pipe broke) would fail for ever: report it once and stop.
            let unreadable = chunk.iter().position(|(_, line)| {
                line.as_ref()
                    .is_err_and(|e| e.kind() != std::io::ErrorKind::InvalidData)
            });
            if let Some(at) = unreadable {
                chunk.truncate(at + 1);
            }
            // The first shares go to the helpers, the last is answered here; all are written in input order.
            let share = chunk.len().div_ceil(workers).max(1);
            let mut shares: Vec<Vec<(usize, std::io::Result<String>)>> = Vec::new();
            let mut rest = chunk.into_iter().peekable();
            while rest.peek().is_some() {
                shares.push(rest.by_ref().take(share).collect());
            }
            let own = shares.pop().unwrap_or_default();
            // A share a helper cannot take (it stopped) is answered here.
            let given: Vec<Result<&std::sync::mpsc::Receiver<Vec<u8>>, Vec<u8>>> = shares
                .into_iter()
                .zip(&helpers)
                .map(|(part, (give, answers))| match give.send(part) {
                    Ok(()) => Ok(answers),
                    Err(std::sync::mpsc::SendError(part)) => Err(answer(&part)),
                })
                .collect();
            let mine = answer(&own);
            let answered = given
                .into_iter()
                .map(|given| {
                    given.map_or_else(|text| text, |answers| answers.recv().unwrap_or_default())
                })
                .chain(std::iter::once(mine));
            let mut written = true;
            for text in answered {
                written &= out.write_all(&text).is_ok();
            }
            if !written {
                break;
            }
            if unreadable.is_some() {
                failed = true;
                break;
            }
        }
        // Dropping the senders ends the helpers.
        drop(helpers);
    });
    let _ = out.flush();
    if failed {
        eprintln!("standard input could not be read: stopped");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// How many input lines are read before they are answered together.
const ASK_CHUNK_LINES: usize = 2048;

/// Appends the output for one input line of `ask` without TEXT: a JSON line, or the plain reply.
fn answer_line(
    out: &mut Vec<u8>,
    engine: &Engine,
    args: &AskArgs,
    date: chrono::NaiveDate,
    index: usize,
    line: &std::io::Result<String>,
) {
    let error = |out: &mut Vec<u8>, e: &dyn std::fmt::Display| {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({"error": format!("line {}: {e}", index + 1), "line": index + 1})
        );
    };
    let line = match line {
        Ok(line) => line,
        // Not UTF-8 or unreadable: one error line, and carry on with the next.
        Err(e) => return error(out, e),
    };
    if args.json {
        match serde_json::from_str::<AskLine>(line) {
            Ok(input) => write_triage_json(
                out,
                &engine.analyse(&input.text, input.day.or(args.day), Some(date)),
                args.explain,
            ),
            Err(e) => error(out, &e),
        }
    } else if !line.trim().is_empty() {
        print_triage(
            out,
            &engine.analyse(line, args.day, Some(date)),
            args.explain,
        );
    }
}

fn print_triage(out: &mut impl Write, triage: &Triage, explain: bool) {
    let _ = writeln!(out, "{}", triage.reply);
    if triage.escalation > engine::Level::None {
        // The red flags it names, when there are any: "[escalation: urgent — pus]", "[escalation: routine]".
        let labels = triage.flag_labels();
        let named = if labels.is_empty() {
            String::new()
        } else {
            format!(" — {}", labels.join(", "))
        };
        let _ = writeln!(out, "[escalation: {}{named}]", triage.escalation);
    }
    if explain {
        let _ = writeln!(
            out,
            "[intent: {} ({}), confidence {:.2}, day {}]",
            triage.intent.as_deref().unwrap_or("none"),
            triage.category,
            triage.confidence,
            triage.day.map_or("unknown".into(), |d| d.to_string())
        );
        for reason in &triage.why {
            let _ = writeln!(out, "  - {reason}");
        }
    }
}

fn run_eval(engine: &Engine, args: &EvalArgs) -> ExitCode {
    let text = match std::fs::read(&args.file) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            eprintln!("{}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let cases = match eval::parse_cases(&text) {
        Ok(cases) => cases,
        Err(errors) => {
            for e in errors {
                eprintln!("{}: {e}", args.file.display());
            }
            return ExitCode::from(2);
        }
    };
    let floors = eval::Floors {
        emergency_recall: args.min_emergency_recall,
        urgent_recall: args.min_urgent_recall,
        routine_recall: args.min_routine_recall,
        max_false_alarms: args.max_false_alarms,
        max_staff_noise: args.max_staff_noise,
        answers: args.min_answers,
    };
    let report = eval::score(engine, &cases, &floors);
    if args.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        out_inline!("{}", report.summary());
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The local chat: the bot's own flows, on the configured database (default: `aftercare.db` here).
fn chat(cli: &Cli, args: &ChatArgs) -> Result<ExitCode, String> {
    let source =
        configuration::Source::from_process(cli.config.as_deref()).map_err(|e| e.to_string())?;
    let (settings, demo) = ClinicSettings::load_or_demo(&source).map_err(|e| e.to_string())?;
    let (engine, clinic) = engine_for(cli, &source, settings)?;
    let url = configuration::database_url(&source);
    runtime()?
        .block_on(async {
            let db = crate::store::Db::connect(&url).await?;
            db.migrate().await?;
            // Nothing is sent anywhere: the terminal prints what staff would get (staff chat 0).
            let service = crate::flows::Service::start(db.clone(), engine, clinic, 0);
            let result = crate::chat::run(service, args.day, demo).await;
            db.close().await;
            result
        })
        .map_err(|e: anyhow::Error| format!("{e:#}"))?;
    Ok(ExitCode::SUCCESS)
}

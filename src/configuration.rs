//! Settings from environment variables, optionally added to by a TOML file (`--config`). The environment
//! wins over the file. A missing or invalid setting is reported in one line that names it.

use crate::engine::Clinic;
use crate::timeline::start_link::LinkSecret;
use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("setting {name} is missing: {hint}")]
    Missing {
        name: &'static str,
        hint: &'static str,
    },
    #[error("setting {name} is invalid ({value:?}): {hint}")]
    Invalid {
        name: &'static str,
        value: String,
        hint: String,
    },
    #[error("config file {path}: {message}")]
    File { path: String, message: String },
}

/// Reads one environment variable (a function, so tests can pass their own environment).
type EnvReader = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where settings come from: the environment, then the optional file.
pub struct Source {
    file: HashMap<String, String>,
    env: EnvReader,
}

impl Source {
    pub fn from_process(config_file: Option<&Path>) -> Result<Source, ConfigError> {
        Source::new(config_file, |name| std::env::var(name).ok())
    }

    pub fn new(
        config_file: Option<&Path>,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Result<Source, ConfigError> {
        let mut file = HashMap::new();
        if let Some(path) = config_file {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: shown.clone(),
                message: e.to_string(),
            })?;
            let table: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::File {
                        path: shown.clone(),
                        message: e.message().to_string(),
                    })?;
            for (key, value) in table {
                let value = match value {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                file.insert(key.to_uppercase(), value);
            }
        }
        Ok(Source {
            file,
            env: Box::new(env),
        })
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.env)(name)
            .or_else(|| self.file.get(name).cloned())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
}

/// What the client-facing text needs: the clinic's facts, its hours and time zone.
#[derive(Debug, Clone)]
pub struct ClinicSettings {
    pub clinic: Clinic,
    pub hours: OpeningHours,
    pub time_zone: Tz,
    /// Start links the clinic prints (`AFTERCARE_LINK_SECRET`); `None`: not set up, and a link is not trusted.
    pub start_links: Option<StartLinks>,
}

/// How the clinic's start links are signed and how long they last.
#[derive(Debug, Clone)]
pub struct StartLinks {
    pub secret: LinkSecret,
    pub valid_for: chrono::Duration,
    /// The bot's Telegram username, for the link itself (`AFTERCARE_BOT_USERNAME`; `serve` asks Telegram).
    pub bot_username: Option<String>,
}

/// The shortest secret accepted for signing start links.
const MIN_LINK_SECRET_CHARS: usize = 16;

impl ClinicSettings {
    pub fn load(source: &Source) -> Result<ClinicSettings, ConfigError> {
        let defaults = Clinic::default();
        let phone = source.get("AFTERCARE_CLINIC_PHONE");
        let hours_text = source
            .get("AFTERCARE_OPENING_HOURS")
            .unwrap_or_else(|| "Mon-Fri 09:00-17:00".into());
        let hours = OpeningHours::parse(&hours_text).map_err(|hint| ConfigError::Invalid {
            name: "AFTERCARE_OPENING_HOURS",
            value: hours_text.clone(),
            hint,
        })?;
        let zone_text = source
            .get("AFTERCARE_TIMEZONE")
            .unwrap_or_else(|| "Europe/London".into());
        let time_zone: Tz = zone_text.parse().map_err(|_| ConfigError::Invalid {
            name: "AFTERCARE_TIMEZONE",
            value: zone_text.clone(),
            hint: "use an IANA time zone name such as Europe/London or America/New_York".into(),
        })?;
        let emergency = source
            .get("AFTERCARE_EMERGENCY_NUMBER")
            .unwrap_or(defaults.emergency_number);
        if !emergency.chars().all(|c| c.is_ascii_digit()) || emergency.len() > 6 {
            return Err(ConfigError::Invalid {
                name: "AFTERCARE_EMERGENCY_NUMBER",
                value: emergency,
                hint: "digits only, e.g. 999, 112 or 911".into(),
            });
        }
        let start_links = match source.get("AFTERCARE_LINK_SECRET") {
            None => None,
            Some(secret) if secret.chars().count() < MIN_LINK_SECRET_CHARS => {
                return Err(ConfigError::Invalid {
                    name: "AFTERCARE_LINK_SECRET",
                    value: "(hidden)".into(),
                    hint: format!(
                        "at least {MIN_LINK_SECRET_CHARS} characters, e.g. from `openssl rand -hex 32`; keep it secret"
                    ),
                });
            }
            Some(secret) => {
                let days_text = source
                    .get("AFTERCARE_LINK_DAYS")
                    .unwrap_or_else(|| "14".into());
                let days = days_text
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (1..=365).contains(d))
                    .ok_or_else(|| ConfigError::Invalid {
                        name: "AFTERCARE_LINK_DAYS",
                        value: days_text.clone(),
                        hint: "how many days a start link works, 1 to 365".into(),
                    })?;
                Some(StartLinks {
                    secret: LinkSecret::new(&secret),
                    valid_for: chrono::Duration::days(days),
                    bot_username: source
                        .get("AFTERCARE_BOT_USERNAME")
                        .map(|name| name.trim_start_matches('@').to_string()),
                })
            }
        };
        Ok(ClinicSettings {
            start_links,
            clinic: Clinic {
                name: source.get("AFTERCARE_CLINIC_NAME").unwrap_or(defaults.name),
                booking_link: source.get("AFTERCARE_BOOKING_LINK"),
                out_of_hours: source
                    .get("AFTERCARE_OUT_OF_HOURS")
                    .unwrap_or(defaults.out_of_hours),
                phone,
                emergency_number: emergency,
                opening_hours: hours_text,
            },
            hours,
            time_zone,
        })
    }
}

/// The fictional clinic `chat` runs as when no clinic is configured, so that a newcomer sees whole sentences
/// ("call Demo Skin Clinic on 01632 960 000") instead of placeholders. 01632 960xxx numbers are reserved for
/// fiction in the UK. `serve` never uses it: it refuses to start without the clinic's own settings.
pub const DEMO_CLINIC_NAME: &str = "Demo Skin Clinic";
pub const DEMO_CLINIC_PHONE: &str = "01632 960 000";
pub const DEMO_BOOKING_LINK: &str = "https://example.com/book";

impl ClinicSettings {
    /// The configured clinic, or, when neither its name nor its phone number is set, the demo clinic (the
    /// second value says which).
    pub fn load_or_demo(source: &Source) -> Result<(ClinicSettings, bool), ConfigError> {
        let mut settings = ClinicSettings::load(source)?;
        let demo = source.get("AFTERCARE_CLINIC_NAME").is_none()
            && source.get("AFTERCARE_CLINIC_PHONE").is_none();
        if demo {
            settings.clinic.name = DEMO_CLINIC_NAME.into();
            settings.clinic.phone = Some(DEMO_CLINIC_PHONE.into());
            if source.get("AFTERCARE_BOOKING_LINK").is_none() {
                settings.clinic.booking_link = Some(DEMO_BOOKING_LINK.into());
            }
        }
        Ok((settings, demo))
    }
}

/// Everything `aftercare serve` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub clinic: ClinicSettings,
    pub database_url: String,
    pub intents_dir: Option<String>,
    pub telegram_token: String,
    pub telegram_api_url: Option<String>,
    pub staff_chat: i64,
    pub reminder_after: Duration,
    /// How long one instance reserves a queued send; pending sends resume this long after a crash.
    pub outbox_lease: Duration,
    /// How long a sent outbox row is kept before it is deleted (pending and failed rows are kept).
    pub outbox_keep: Duration,
    pub webhook_url: Option<String>,
    /// `AFTERCARE_CLOCK_START`: the bot's time starts here instead of now (trying the care timeline, tests).
    pub clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// How often the care timeline looks for steps due (`AFTERCARE_CARE_LOOK_SECONDS`).
    pub care_look_every: std::time::Duration,
    pub webhook_listen: String,
    pub webhook_secret: Option<String>,
    /// Where `/metrics`, `/healthz` and `/readyz` are served (`AFTERCARE_HTTP_LISTEN`; `off`: nowhere).
    pub http_listen: Option<std::net::SocketAddr>,
    /// How long messages and resolved reports are kept (`AFTERCARE_RETENTION_DAYS`).
    pub retention: Duration,
    /// When the weekly picture goes to the staff chat (`AFTERCARE_WEEKLY_REPORT`; `off`: never).
    pub weekly_report: Option<crate::operations::weekly::Schedule>,
}

/// The operator's endpoints listen here unless told otherwise: this machine only, Prometheus's port range.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:9464";

pub const DEFAULT_DATABASE_URL: &str = "sqlite://aftercare.db";

pub fn database_url(source: &Source) -> String {
    source
        .get("DATABASE_URL")
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.into())
}

pub fn intents_dir(source: &Source) -> Option<String> {
    source.get("AFTERCARE_INTENTS")
}

impl Settings {
    pub fn load(source: &Source) -> Result<Settings, ConfigError> {
        let telegram_token = source.get("TELOXIDE_TOKEN").ok_or(ConfigError::Missing {
            name: "TELOXIDE_TOKEN",
            hint: "the bot token from BotFather, e.g. 123456:ABC-DEF...",
        })?;
        if !telegram_token.contains(':') {
            return Err(ConfigError::Invalid {
                name: "TELOXIDE_TOKEN",
                value: "(hidden)".into(),
                hint: "a BotFather token looks like 123456:ABC-DEF...".into(),
            });
        }
        let telegram_api_url = source.get("TELOXIDE_API_URL");
        if let Some(url) = &telegram_api_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                name: "TELOXIDE_API_URL",
                value: url.clone(),
                hint: "an http:// or https:// base URL".into(),
            });
        }
        let staff_text = source.get("AFTERCARE_STAFF_CHAT").ok_or(ConfigError::Missing {
            name: "AFTERCARE_STAFF_CHAT",
            hint: "the staff group's chat id, e.g. -1001234567890 (see README: finding the group's id)",
        })?;
        let staff_chat = staff_text
            .parse::<i64>()
            .map_err(|_| ConfigError::Invalid {
                name: "AFTERCARE_STAFF_CHAT",
                value: staff_text.clone(),
                hint: "a number such as -1001234567890".into(),
            })?;
        let reminder_text = source
            .get("AFTERCARE_REMINDER_MINUTES")
            .unwrap_or_else(|| "15".into());
        let reminder_minutes = reminder_text
            .parse::<f64>()
            .ok()
            .filter(|m| *m > 0.0 && *m <= 24.0 * 60.0)
            .ok_or(ConfigError::Invalid {
                name: "AFTERCARE_REMINDER_MINUTES",
                value: reminder_text.clone(),
                hint: "minutes between 0 and 1440, e.g. 15".into(),
            })?;
        let lease_seconds = whole_number(
            source,
            "AFTERCARE_OUTBOX_LEASE_SECONDS",
            30,
            1..=3600,
            "seconds between 1 and 3600, e.g. 30",
        )?;
        // At least the two days the inbox keeps the ids of handled updates: a sent row's key is the second guard
        // against sending an update's answers twice.
        let keep_days = whole_number(
            source,
            "AFTERCARE_OUTBOX_KEEP_DAYS",
            7,
            2..=3650,
            "days between 2 and 3650, e.g. 7",
        )?;
        if source.get("AFTERCARE_CLINIC_PHONE").is_none() {
            return Err(ConfigError::Missing {
                name: "AFTERCARE_CLINIC_PHONE",
                hint: "the number clients should call, e.g. \"020 7946 0000\"",
            });
        }
        let clock_start = match source.get("AFTERCARE_CLOCK_START") {
            None => None,
            Some(text) => Some(
                chrono::DateTime::parse_from_rfc3339(text.trim())
                    .map_err(|_| ConfigError::Invalid {
                        name: "AFTERCARE_CLOCK_START",
                        value: text.clone(),
                        hint:
                            "an instant such as 2026-03-11T09:59:00Z (for trying the care timeline)"
                                .into(),
                    })?
                    .to_utc(),
            ),
        };
        let look_seconds = whole_number(
            source,
            "AFTERCARE_CARE_LOOK_SECONDS",
            60,
            1..=3600,
            "seconds between two looks for care-timeline steps due, 1 to 3600",
        )?;
        // At least 30 days: /stats and the weekly picture look at the last week, which retention never reaches.
        let retention_days = whole_number(
            source,
            "AFTERCARE_RETENTION_DAYS",
            365,
            30..=36500,
            "days between 30 and 36500, e.g. 365",
        )?;
        let weekly_text = source
            .get("AFTERCARE_WEEKLY_REPORT")
            .unwrap_or_else(|| "Mon 09:00".into());
        let weekly_report =
            crate::operations::weekly::Schedule::parse(&weekly_text).map_err(|hint| {
                ConfigError::Invalid {
                    name: "AFTERCARE_WEEKLY_REPORT",
                    value: weekly_text.clone(),
                    hint,
                }
            })?;
        let http_text = source
            .get("AFTERCARE_HTTP_LISTEN")
            .unwrap_or_else(|| DEFAULT_HTTP_LISTEN.into());
        let http_listen = match http_text.trim() {
            "off" => None,
            address => Some(address.parse().map_err(|_| ConfigError::Invalid {
                name: "AFTERCARE_HTTP_LISTEN",
                value: http_text.clone(),
                hint: "an address and port such as 127.0.0.1:9464 or 0.0.0.0:9464, or off".into(),
            })?),
        };
        Ok(Settings {
            clinic: ClinicSettings::load(source)?,
            database_url: database_url(source),
            intents_dir: intents_dir(source),
            telegram_token,
            telegram_api_url,
            staff_chat,
            reminder_after: Duration::milliseconds((reminder_minutes * 60_000.0) as i64),
            outbox_lease: Duration::seconds(lease_seconds),
            outbox_keep: Duration::days(keep_days),
            webhook_url: source.get("AFTERCARE_WEBHOOK_URL"),
            clock_start,
            care_look_every: std::time::Duration::from_secs(look_seconds.unsigned_abs()),
            webhook_listen: source
                .get("AFTERCARE_WEBHOOK_LISTEN")
                .unwrap_or_else(|| "0.0.0.0:8443".into()),
            webhook_secret: source.get("AFTERCARE_WEBHOOK_SECRET"),
            http_listen,
            retention: Duration::days(retention_days),
            weekly_report,
        })
    }
}

/// The whole-number setting `name`, `default` when unset; refused, with `hint`, outside `range`.
fn whole_number(
    source: &Source,
    name: &'static str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    hint: &str,
) -> Result<i64, ConfigError> {
    let Some(text) = source.get(name) else {
        return Ok(default);
    };
    text.parse::<i64>()
        .ok()
        .filter(|value| range.contains(value))
        .ok_or(ConfigError::Invalid {
            name,
            value: text,
            hint: hint.into(),
        })
}

/// When staff are there to answer, e.g. "Mon-Fri 09:00-17:00; Sat 10:00-13:00".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningHours {
    /// Per weekday (Monday first): opening and closing time.
    days: [Option<(NaiveTime, NaiveTime)>; 7],
}

impl OpeningHours {
    pub fn parse(text: &str) -> Result<OpeningHours, String> {
        let mut days = [None; 7];
        let hint = |part: &str| {
            format!("could not read {part:?}; write e.g. \"Mon-Fri 09:00-17:00; Sat 10:00-13:00\"")
        };
        for part in text
            .split([';', ','])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (day_part, time_part) = part.split_once(' ').ok_or_else(|| hint(part))?;
            let (open, close) = time_part.trim().split_once('-').ok_or_else(|| hint(part))?;
            let parse_time =
                |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| hint(part));
            let (open, close) = (parse_time(open)?, parse_time(close)?);
            if close <= open {
                return Err(format!("{part:?}: closing time must be after opening time"));
            }
            let (first, last) = match day_part.split_once('-') {
                Some((a, b)) => (a, b),
                None => (day_part, day_part),
            };
            let weekday = |d: &str| d.trim().parse::<Weekday>().map_err(|_| hint(part));
            let (first, last) = (weekday(first)?, weekday(last)?);
            let mut day = first;
            loop {
                days[day.num_days_from_monday() as usize] = Some((open, close));
                if day == last {
                    break;
                }
                day = day.succ();
            }
        }
        if days.iter().all(Option::is_none) {
            return Err("no opening hours given".into());
        }
        Ok(OpeningHours { days })
    }

    pub fn is_open<Z: TimeZone>(&self, at: &DateTime<Z>) -> bool {
        self.days[at.weekday().num_days_from_monday() as usize]
            .is_some_and(|(open, close)| at.time() >= open && at.time() < close)
    }

    /// The next time the clinic opens after `at` (at most a week ahead).
    pub fn next_opening(&self, at: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        for ahead in 0..8 {
            let date = at.date_naive() + Duration::days(ahead);
            let Some((open, _)) = self.days[date.weekday().num_days_from_monday() as usize] else {
                continue;
            };
            let candidate = at
                .timezone()
                .from_local_datetime(&date.and_time(open))
                .earliest()?;
            if candidate > *at {
                return Some(candidate);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(pairs: &[(&str, &str)]) -> Source {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Source::new(None, move |name| map.get(name).cloned()).expect("no file")
    }

    #[test]
    fn serve_needs_token_staff_chat_and_phone() {
        let err = Settings::load(&source(&[])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("setting TELOXIDE_TOKEN is missing")
        );
        let err = Settings::load(&source(&[
            ("TELOXIDE_TOKEN", "1:a"),
            ("AFTERCARE_STAFF_CHAT", "staff"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("AFTERCARE_STAFF_CHAT is invalid"));
        let ok = Settings::load(&source(&[
            ("TELOXIDE_TOKEN", "1:a"),
            ("AFTERCARE_STAFF_CHAT", "-100"),
            ("AFTERCARE_CLINIC_PHONE", "0123"),
        ]))
        .expect("valid");
        assert_eq!(ok.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(ok.reminder_after, Duration::minutes(15));
        assert_eq!(ok.outbox_lease, Duration::seconds(30));
        assert_eq!(ok.outbox_keep, Duration::days(7));
        assert_eq!(ok.retention, Duration::days(365));
        let weekly = ok.weekly_report.expect("on by default");
        assert_eq!(weekly.weekday, chrono::Weekday::Mon);
        assert_eq!(ok.clinic.clinic.emergency_number, "999");
    }

    #[test]
    fn the_endpoints_listen_on_this_machine_unless_told_otherwise() {
        let with = |listen: Option<&str>| {
            let mut settings = vec![
                ("TELOXIDE_TOKEN", "1:a"),
                ("AFTERCARE_STAFF_CHAT", "-100"),
                ("AFTERCARE_CLINIC_PHONE", "0123"),
            ];
            settings.extend(listen.map(|l| ("AFTERCARE_HTTP_LISTEN", l)));
            Settings::load(&source(&settings))
        };
        let default = with(None).expect("valid").http_listen;
        assert_eq!(
            default.map(|a| a.to_string()).as_deref(),
            Some(DEFAULT_HTTP_LISTEN)
        );
        assert_eq!(with(Some("off")).expect("valid").http_listen, None);
        let any = with(Some("0.0.0.0:9100")).expect("valid").http_listen;
        assert_eq!(any.map(|a| a.port()), Some(9100));
        let err = with(Some("9464")).unwrap_err().to_string();
        assert!(err.contains("AFTERCARE_HTTP_LISTEN is invalid"), "{err}");
    }

    #[test]
    fn sent_sends_are_kept_a_configurable_number_of_days() {
        let with = |keep: &str| {
            Settings::load(&source(&[
                ("TELOXIDE_TOKEN", "1:a"),
                ("AFTERCARE_STAFF_CHAT", "-100"),
                ("AFTERCARE_CLINIC_PHONE", "0123"),
                ("AFTERCARE_OUTBOX_KEEP_DAYS", keep),
            ]))
        };
        assert_eq!(with("30").expect("valid").outbox_keep, Duration::days(30));
        for refused in ["1", "seven", "-7"] {
            let err = with(refused).unwrap_err().to_string();
            assert!(
                err.contains("AFTERCARE_OUTBOX_KEEP_DAYS is invalid"),
                "{err}"
            );
        }
    }

    #[test]
    fn the_out_of_hours_service_is_configurable() {
        let default = ClinicSettings::load(&source(&[])).expect("defaults");
        assert_eq!(
            default.clinic.out_of_hours,
            crate::engine::DEFAULT_OUT_OF_HOURS
        );
        let nhs =
            ClinicSettings::load(&source(&[("AFTERCARE_OUT_OF_HOURS", "NHS 111")])).expect("set");
        assert_eq!(nhs.clinic.out_of_hours, "NHS 111");
    }

    #[test]
    fn bad_time_zone_and_emergency_number_are_named() {
        let err =
            ClinicSettings::load(&source(&[("AFTERCARE_TIMEZONE", "Mars/Olympus")])).unwrap_err();
        assert!(err.to_string().contains("AFTERCARE_TIMEZONE"));
        let err = ClinicSettings::load(&source(&[("AFTERCARE_EMERGENCY_NUMBER", "call 999")]))
            .unwrap_err();
        assert!(err.to_string().contains("AFTERCARE_EMERGENCY_NUMBER"));
    }

    #[test]
    fn opening_hours_and_next_opening() {
        let hours = OpeningHours::parse("Mon-Fri 09:00-17:00; Sat 10:00-13:00").expect("valid");
        let london: Tz = "Europe/London".parse().expect("zone");
        // Saturday 2026-11-28 14:00: closed; opens Monday 09:00.
        let saturday = london.with_ymd_and_hms(2026, 11, 28, 14, 0, 0).unwrap();
        assert!(!hours.is_open(&saturday));
        let next = hours.next_opening(&saturday).expect("opens again");
        assert_eq!(next.weekday(), Weekday::Mon);
        assert_eq!(next.time(), NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        let tuesday = london.with_ymd_and_hms(2026, 11, 24, 10, 30, 0).unwrap();
        assert!(hours.is_open(&tuesday));
        assert!(OpeningHours::parse("whenever").is_err());
        assert!(OpeningHours::parse("Mon 17:00-09:00").is_err());
    }
}

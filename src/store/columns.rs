//! How API values are represented in columns: instants as epoch milliseconds, dates and JSON as text.

use chrono::{DateTime, NaiveDate, Utc};

use super::StoreError;

const DATE_FORMAT: &str = "%Y-%m-%d";

pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn instant(column: &'static str, millis: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(millis).ok_or_else(|| StoreError::InvalidStoredValue {
        column,
        detail: format!("{millis} is out of range for an instant"),
    })
}

pub(crate) fn optional_instant(
    column: &'static str,
    millis: Option<i64>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    millis.map(|millis| instant(column, millis)).transpose()
}

pub(crate) fn date_text(date: NaiveDate) -> String {
    date.format(DATE_FORMAT).to_string()
}

pub(crate) fn date(column: &'static str, text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, DATE_FORMAT).map_err(|error| StoreError::InvalidStoredValue {
        column,
        detail: format!("{text:?} is not a YYYY-MM-DD date: {error}"),
    })
}

pub(crate) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    Ok(serde_json::to_string(value)?)
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(
    column: &'static str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::InvalidStoredValue {
        column,
        detail: format!("invalid JSON: {error}"),
    })
}

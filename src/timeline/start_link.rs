//! Start links the clinic prints on the aftercare card: `https://t.me/<bot>?start=<token>`. The token carries the
//! treatment date, when it expires and a random id, signed with the clinic's secret (HMAC-SHA256), so the bot
//! can trust the date without having seen the link before. Pure: the time and the secret are arguments; that a
//! link is used once is the store's business (by its id).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Days, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// The token's layout version, its first byte.
const VERSION: u8 = 1;
/// Bytes of the random id.
const ID_BYTES: usize = 6;
/// Bytes of the signature kept: 128 bits.
const MAC_BYTES: usize = 16;
/// version, days since 1970-01-01 (u16), expiry in minutes since 1970 (u32), id.
const BODY_BYTES: usize = 1 + 2 + 4 + ID_BYTES;
/// Telegram's limit on a start parameter, in characters of `A-Za-z0-9_-`.
pub const MAX_TOKEN_CHARS: usize = 64;

/// The link to print: `https://t.me/<bot>?start=<token>`.
pub fn start_link_url(bot_username: &str, token: &str) -> String {
    format!(
        "https://t.me/{}?start={token}",
        bot_username.trim_start_matches('@')
    )
}

/// A start link's id: what marks it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkId([u8; ID_BYTES]);

impl LinkId {
    pub fn random() -> Result<LinkId, getrandom::Error> {
        let mut bytes = [0; ID_BYTES];
        getrandom::getrandom(&mut bytes)?;
        Ok(LinkId(bytes))
    }
}

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// What a start link says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartLink {
    pub id: LinkId,
    pub treated_on: NaiveDate,
    pub expires_at: DateTime<Utc>,
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// Not a token of ours: changed, cut short, or signed with another secret.
    Forged,
    Expired,
}

/// The clinic's secret for signing links (`AFTERCARE_LINK_SECRET`).
#[derive(Clone)]
pub struct LinkSecret(Vec<u8>);

impl LinkSecret {
    pub fn new(secret: &str) -> LinkSecret {
        LinkSecret(secret.as_bytes().to_vec())
    }

    fn mac(&self, body: &[u8]) -> [u8; MAC_BYTES] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut kept = [0; MAC_BYTES];
        kept.copy_from_slice(&full[..MAC_BYTES]);
        kept
    }
}

impl fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkSecret(…)")
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

impl StartLink {
    /// The token for this link, at most [`MAX_TOKEN_CHARS`] of `A-Za-z0-9_-`. `None` for a date or expiry the
    /// token cannot carry (before 1970, or after the 2100s).
    pub fn token(&self, secret: &LinkSecret) -> Option<String> {
        let days = u16::try_from((self.treated_on - epoch()).num_days()).ok()?;
        let minutes = u32::try_from(self.expires_at.timestamp().div_euclid(60)).ok()?;
        let mut bytes = Vec::with_capacity(BODY_BYTES + MAC_BYTES);
        bytes.push(VERSION);
        bytes.extend_from_slice(&days.to_be_bytes());
        bytes.extend_from_slice(&minutes.to_be_bytes());
        bytes.extend_from_slice(&self.id.0);
        let mac = secret.mac(&bytes);
        bytes.extend_from_slice(&mac);
        Some(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads a token and checks its signature, then its expiry at `now`.
    pub fn verify(
        token: &str,
        secret: &LinkSecret,
        now: DateTime<Utc>,
    ) -> Result<StartLink, LinkProblem> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(LinkProblem::Forged);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| LinkProblem::Forged)?;
        if bytes.len() != BODY_BYTES + MAC_BYTES || bytes[0] != VERSION {
            return Err(LinkProblem::Forged);
        }
        let (body, mac) = bytes.split_at(BODY_BYTES);
        // The comparison takes as long whatever the bytes: a guess learns nothing from the time it took.
        let mut check = <Hmac<Sha256> as Mac>::new_from_slice(&secret.0)
            .expect("HMAC takes a key of any length");
        check.update(body);
        check
            .verify_truncated_left(mac)
            .map_err(|_| LinkProblem::Forged)?;
        let days = u16::from_be_bytes([body[1], body[2]]);
        let minutes = u32::from_be_bytes([body[3], body[4], body[5], body[6]]);
        let mut id = [0; ID_BYTES];
        id.copy_from_slice(&body[7..]);
        let treated_on = epoch()
            .checked_add_days(Days::new(days.into()))
            .ok_or(LinkProblem::Forged)?;
        let expires_at =
            DateTime::from_timestamp(i64::from(minutes) * 60, 0).ok_or(LinkProblem::Forged)?;
        if now >= expires_at {
            return Err(LinkProblem::Expired);
        }
        Ok(StartLink {
            id: LinkId(id),
            treated_on,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> StartLink {
        StartLink {
            id: LinkId([1, 2, 3, 4, 5, 6]),
            treated_on: NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
            expires_at: DateTime::parse_from_rfc3339("2026-12-15T12:00:00Z")
                .expect("time")
                .to_utc(),
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").to_utc()
    }

    #[test]
    fn a_token_fits_telegrams_start_parameter_and_reads_back() {
        let secret = LinkSecret::new("clinic secret");
        let token = link().token(&secret).expect("token");
        assert!(token.len() <= MAX_TOKEN_CHARS, "{token}");
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{token}"
        );
        assert_eq!(
            StartLink::verify(&token, &secret, at("2026-12-02T09:00:00Z")),
            Ok(link())
        );
    }

    #[test]
    fn a_changed_cut_or_foreign_token_is_forged_and_an_old_one_expired() {
        let secret = LinkSecret::new("clinic secret");
        let token = link().token(&secret).expect("token");
        let now = at("2026-12-02T09:00:00Z");
        let other = link().token(&LinkSecret::new("another")).expect("token");
        assert_eq!(
            StartLink::verify(&other, &secret, now),
            Err(LinkProblem::Forged)
        );
        // Every single character changed is refused.
        for i in 0..token.len() {
            let mut changed: Vec<char> = token.chars().collect();
            changed[i] = if changed[i] == 'A' { 'B' } else { 'A' };
            let changed: String = changed.into_iter().collect();
            assert_eq!(
                StartLink::verify(&changed, &secret, now),
                Err(LinkProblem::Forged),
                "{changed}"
            );
        }
        for bad in [
            "",
            "abc",
            &token[..token.len() - 2],
            "!!!!",
            &"A".repeat(200),
        ] {
            assert_eq!(
                StartLink::verify(bad, &secret, now),
                Err(LinkProblem::Forged),
                "{bad}"
            );
        }
        assert_eq!(
            StartLink::verify(&token, &secret, at("2026-12-15T12:00:00Z")),
            Err(LinkProblem::Expired)
        );
    }
}

//! Input types for the edge: every value a client sends is parsed into one of these before a
//! handler sees it, so a rejected value never reaches a service or the database.
//!
//! Each type checks its own bounds in `Deserialize`; a JSON body, query string or path that
//! does not fit is rejected by the extractor with 422 (or 400 for malformed syntax) in the
//! API's one error shape (see [`crate::api`]).
//!
//! ```
//! use forecast_platform::input::{Bounded, Day, Units};
//!
//! let ok: Bounded<1, 24> = serde_json::from_str("6").unwrap();
//! assert_eq!(ok.get(), 6);
//! assert!(serde_json::from_str::<Bounded<1, 24>>("25").is_err());
//! assert!(serde_json::from_str::<Day>("\"2024-13-45\"").is_err());
//! assert!(serde_json::from_str::<Units>("1e308").is_err());
//! ```

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::macros::{date, format_description};
use time::{Date, Month, OffsetDateTime};

/// An integer in `MIN..=MAX`. Anything else (out of range, fractional, not a number) does not
/// deserialize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bounded<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> Bounded<MIN, MAX> {
    /// `Some` if `value` is in range.
    pub const fn new(value: i64) -> Option<Self> {
        if value >= MIN && value <= MAX {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The value.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl<const MIN: i64, const MAX: i64> Serialize for Bounded<MIN, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        Self::new(v).ok_or_else(|| D::Error::custom(format!("must be {MIN}–{MAX}, not {v}")))
    }
}

/// Forecast horizon in months.
pub type Horizon = Bounded<1, 24>;

/// The first day a sale may be dated.
pub const FIRST_DAY: Date = date!(2000 - 01 - 01);

/// A calendar day (`YYYY-MM-DD`), a real date between 2000-01-01 and tomorrow (UTC): a sale
/// cannot be dated in the future, and a far-future date would stretch every series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

impl Day {
    /// A checked day.
    pub fn new(date: Date) -> Result<Self, String> {
        let latest = OffsetDateTime::now_utc()
            .date()
            .next_day()
            .unwrap_or(Date::MAX);
        if date < FIRST_DAY || date > latest {
            return Err(format!("{} is outside {FIRST_DAY}…{latest}", Self(date)));
        }
        Ok(Self(date))
    }

    /// Parses `YYYY-MM-DD` (a real date, in range).
    pub fn parse(s: &str) -> Result<Self, String> {
        let date = Date::parse(s, format_description!("[year]-[month]-[day]"))
            .map_err(|e| format!("`{}` is not a date YYYY-MM-DD: {e}", clip(s)))?;
        Self::new(date)
    }

    /// The date.
    pub fn date(self) -> Date {
        self.0
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_day(self.0))
    }
}

/// `YYYY-MM-DD`.
pub fn format_day(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `YYYY-MM`.
pub fn format_month(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

/// Parses a stored `YYYY-MM` into the first day of that month.
pub fn parse_month(s: &str) -> Option<Date> {
    let (y, m) = s.split_once('-')?;
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, 1).ok()
}

/// Parses a stored `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> Option<Date> {
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
}

/// The first day of the month after `d`'s month.
pub fn next_month(d: Date) -> Option<Date> {
    let (y, m) = match d.month() {
        Month::December => (d.year().checked_add(1)?, Month::January),
        m => (d.year(), m.next()),
    };
    Date::from_calendar_date(y, m, 1).ok()
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(D::Error::custom)
    }
}

/// Units sold in one row: finite, `0..=1_000_000`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Units(f64);

impl Units {
    /// The largest accepted value.
    pub const MAX: f64 = 1_000_000.0;

    /// `Some` if finite and in range.
    pub fn new(v: f64) -> Option<Self> {
        (v.is_finite() && (0.0..=Self::MAX).contains(&v)).then_some(Self(v))
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Serialize for Units {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Units {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        Self::new(v).ok_or_else(|| D::Error::custom(format!("units must be 0–1000000, not {v}")))
    }
}

/// A percentage adjustment, `-100..=300`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(f64);

impl Percent {
    /// `Some` if finite and in range.
    pub fn new(v: f64) -> Option<Self> {
        (v.is_finite() && (-100.0..=300.0).contains(&v)).then_some(Self(v))
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        Self::new(v).ok_or_else(|| D::Error::custom(format!("percent must be −100…300, not {v}")))
    }
}

/// Text of `MIN..=MAX` characters after trimming, without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> Text<MIN, MAX> {
    /// Trims and checks `s`.
    pub fn new(s: &str) -> Result<Self, String> {
        // Count at most MAX + 1 characters: a huge string is not walked to the end.
        let s = s.trim();
        let n = s.chars().take(MAX + 1).count();
        if n < MIN || n > MAX {
            return Err(format!("must be {MIN}–{MAX} characters"));
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err("must not contain control characters".into());
        }
        Ok(Self(s.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MIN: usize, const MAX: usize> Serialize for Text<MIN, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de, const MIN: usize, const MAX: usize> Deserialize<'de> for Text<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::new(&s).map_err(D::Error::custom)
    }
}

/// A scenario name: 1–80 characters.
pub type Name = Text<1, 80>;
/// A description: 0–2000 characters.
pub type Description = Text<0, 2000>;
/// Who made an edit: 1–64 characters.
pub type Author = Text<1, 64>;

/// A region of the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// North.
    North,
    /// South.
    South,
    /// West.
    West,
}

impl Region {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::North => "north",
            Self::South => "south",
            Self::West => "west",
        }
    }
}

/// A product of the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Product {
    /// Widget.
    Widget,
    /// Gadget.
    Gadget,
    /// Gizmo.
    Gizmo,
}

impl Product {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Widget => "widget",
            Self::Gadget => "gadget",
            Self::Gizmo => "gizmo",
        }
    }
}

/// Page size of list endpoints: 1–100, default 50.
pub type Limit = Bounded<1, 100>;
/// Offset into a list: 0–1 000 000.
pub type Offset = Bounded<0, 1_000_000>;

/// `?limit=&offset=` of a list endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Page size (default 50).
    pub limit: Option<Limit>,
    /// Rows to skip (default 0).
    pub offset: Option<Offset>,
}

impl Page {
    /// `(limit, offset)` with defaults applied.
    pub fn get(self) -> (i64, i64) {
        (
            self.limit.map_or(50, Bounded::get),
            self.offset.map_or(0, Bounded::get),
        )
    }
}

/// Shortens an echoed client value (error messages never repeat a megabyte back).
pub fn clip(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_real_dates_in_range() {
        assert_eq!(Day::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        for bad in [
            "2024-13-45",
            "abcd-ef-gh",
            "2023-02-29",
            "1999-12-31",
            "9999-01-01",
            "2024-1-1",
            "",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_and_text_are_bounded() {
        assert!(serde_json::from_str::<Bounded<1, 5>>("0").is_err());
        assert!(serde_json::from_str::<Bounded<1, 5>>("9223372036854775807").is_err());
        assert!(serde_json::from_str::<Bounded<1, 5>>("99999999999999999999999").is_err());
        assert!(serde_json::from_str::<Bounded<1, 5>>("2.5").is_err());
        assert!(Units::new(f64::NAN).is_none() && Units::new(-1.0).is_none());
        assert!(Units::new(1e308).is_none() && Units::new(12.0).is_some());
        assert!(Name::new("  ").is_err());
        assert!(Name::new(&"x".repeat(81)).is_err());
        assert_eq!(Name::new("  Promo ").unwrap().as_str(), "Promo");
        assert!(Author::new("a\u{0}b").is_err());
        assert!(Description::new("").is_ok());
        assert_eq!(clip(&"é".repeat(100)).chars().count(), 41);
    }

    #[test]
    fn months_roll_over() {
        let d = parse_month("2024-12").unwrap();
        assert_eq!(format_month(next_month(d).unwrap()), "2025-01");
        assert!(parse_month("2024-13").is_none());
    }
}

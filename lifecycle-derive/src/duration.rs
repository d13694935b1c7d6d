//! Durations in attributes: strings such as `"250ms"`, `"30s"`, `"1m"`, `"1h30m"`, checked at
//! compile time and emitted as `Duration` constructors. Shared by every macro.

use std::time::Duration;

use darling::FromMeta;
use proc_macro2::{Literal, Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned as _;
use syn::{Expr, Lit};

/// The units accepted, longest first so `ms` is not read as `m` + `s`.
const UNITS: &[(&str, u128)] = &[
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
];

const EXAMPLES: &str = "write it as a string such as \"250ms\", \"30s\", \"1m\" or \"1h30m\"";

/// Parses `"1h30m"`-style text. The error is a sentence for the user.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    if text.is_empty() {
        return Err(format!("empty duration: {EXAMPLES}"));
    }
    if matches!(text, "none" | "never" | "forever" | "infinite" | "off") {
        return Err(format!(
            "`{text}` is not a duration: write one such as \"30s\" (only `start_timeout` accepts \"none\", to wait forever)"
        ));
    }
    if text.starts_with('-') {
        return Err(format!("durations cannot be negative: `{text}`"));
    }
    let bytes = text.as_bytes();
    let mut total: u128 = 0;
    let mut i = 0;
    let mut last_unit: Option<usize> = None;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(format!(
                "invalid duration `{text}`: expected a number at `{}`; {EXAMPLES}",
                &text[start..]
            ));
        }
        let digits = &text[start..i];
        let rest = &text[i..];
        // The unit is the whole run of letters: `30sec` is an unknown unit `sec`, not `s`.
        let letters = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .map_or(rest, |end| &rest[..end]);
        let Some((unit, nanos)) = UNITS.iter().find(|(unit, _)| *unit == letters) else {
            return Err(if rest.is_empty() {
                format!(
                    "duration `{text}` has no unit: write `\"{digits}s\"` or `\"{digits}ms\"` (units: h, m, s, ms, us, ns)"
                )
            } else if letters.is_empty() {
                format!(
                    "invalid duration `{text}`: unknown unit at `{rest}` (units: h, m, s, ms, us, ns, no spaces); {EXAMPLES}"
                )
            } else {
                let hint = unit_for(letters)
                    .map_or_else(String::new, |unit| format!(": write `\"{digits}{unit}\"`"));
                format!(
                    "invalid duration `{text}`: unknown unit `{letters}`{hint} (units: h, m, s, ms, us, ns)"
                )
            });
        };
        let rank = unit_rank(unit);
        if let Some(previous) = last_unit
            && rank <= previous
        {
            return Err(format!(
                "invalid duration `{text}`: units must go from largest to smallest, each at most once (like \"1h30m\")"
            ));
        }
        last_unit = Some(rank);
        let value: u128 = digits
            .parse()
            .map_err(|_| format!("duration `{text}` is too large"))?;
        total = value
            .checked_mul(*nanos)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(|| format!("duration `{text}` is too large"))?;
        i += unit.len();
    }
    let nanos = u64::try_from(total)
        .map_err(|_| format!("duration `{text}` is too large (at most about 584 years)"))?;
    Ok(Duration::from_nanos(nanos))
}

/// The unit a user probably meant by a longer spelling (`sec`, `minutes`, `millis`).
fn unit_for(word: &str) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    let unit = match word.as_str() {
        "hr" | "hrs" | "hour" | "hours" => "h",
        "min" | "mins" | "minute" | "minutes" => "m",
        "sec" | "secs" | "second" | "seconds" => "s",
        "msec" | "msecs" | "milli" | "millis" | "millisecond" | "milliseconds" => "ms",
        "usec" | "usecs" | "micro" | "micros" | "microsecond" | "microseconds" | "µs" => "us",
        "nsec" | "nsecs" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => "ns",
        "h" | "m" | "s" | "ms" | "us" | "ns" => return Some(UNIT_NAMES[unit_rank(&word)]),
        _ => return None,
    };
    Some(unit)
}

const UNIT_NAMES: [&str; 6] = ["h", "m", "s", "ms", "us", "ns"];

/// Order of units from largest (0) to smallest.
fn unit_rank(unit: &str) -> usize {
    match unit {
        "h" => 0,
        "m" => 1,
        "s" => 2,
        "ms" => 3,
        "us" => 4,
        _ => 5,
    }
}

/// A duration option of an attribute, with the span of its literal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DurationLit {
    pub(crate) value: Duration,
    pub(crate) span: Span,
}

impl DurationLit {
    /// An error at the literal if the duration is zero, where zero means nothing.
    pub(crate) fn non_zero(self, option: &str) -> darling::Result<Self> {
        if self.value.is_zero() {
            Err(
                darling::Error::custom(format!("`{option}` must be greater than zero"))
                    .with_span(&self.span),
            )
        } else {
            Ok(self)
        }
    }

    /// `backoff` and `max_backoff` (a service's or a task's), each checked to be non-zero,
    /// and the cap checked not to be below the base (an error at `max_backoff`). Each is
    /// `None` where an error was pushed.
    pub(crate) fn checked_backoffs(
        backoff: Option<Self>,
        max_backoff: Option<Self>,
        errors: &mut darling::error::Accumulator,
    ) -> (Option<Self>, Option<Self>) {
        let backoff = backoff.and_then(|b| errors.handle(b.non_zero("backoff")));
        let max_backoff = max_backoff.and_then(|b| errors.handle(b.non_zero("max_backoff")));
        if let (Some(base), Some(max)) = (backoff, max_backoff)
            && max.value < base.value
        {
            errors.push(
                darling::Error::custom(format!(
                    "`max_backoff` ({:?}) is smaller than `backoff` ({:?}): the cap must be at least the base delay",
                    max.value, base.value
                ))
                .with_span(&max.span),
            );
        }
        (backoff, max_backoff)
    }

    /// `::core::time::Duration::from_…(n)`, readable in expanded code.
    pub(crate) fn to_tokens(self) -> TokenStream {
        duration_tokens(self.value)
    }
}

/// The most readable exact constructor for `value`.
pub(crate) fn duration_tokens(value: Duration) -> TokenStream {
    let nanos = value.as_nanos();
    if nanos.is_multiple_of(1_000_000_000) {
        let secs = Literal::u64_unsuffixed(value.as_secs());
        quote!(::core::time::Duration::from_secs(#secs))
    } else if nanos.is_multiple_of(1_000_000) {
        let millis = Literal::u64_unsuffixed(u64::try_from(value.as_millis()).unwrap_or(u64::MAX));
        quote!(::core::time::Duration::from_millis(#millis))
    } else {
        let nanos = Literal::u64_unsuffixed(u64::try_from(nanos).unwrap_or(u64::MAX));
        quote!(::core::time::Duration::from_nanos(#nanos))
    }
}

/// Converts a literal (or anything else) into a duration, with errors at the literal.
pub(crate) fn from_expr(expr: &Expr) -> darling::Result<DurationLit> {
    match expr {
        Expr::Group(group) => from_expr(&group.expr),
        Expr::Lit(lit) => match &lit.lit {
            Lit::Str(s) => match parse(&s.value()) {
                Ok(value) => Ok(DurationLit {
                    value,
                    span: s.span(),
                }),
                Err(message) => Err(darling::Error::custom(message).with_span(s)),
            },
            Lit::Int(int) => Err(darling::Error::custom(format!(
                "durations are strings with a unit: write `\"{}s\"` or `\"{}ms\"`",
                int.base10_digits(),
                int.base10_digits()
            ))
            .with_span(int)),
            other => Err(
                darling::Error::custom(format!("expected a duration; {EXAMPLES}")).with_span(other),
            ),
        },
        other => Err(
            darling::Error::custom(format!("expected a duration; {EXAMPLES}"))
                .with_span(&other.span()),
        ),
    }
}

impl FromMeta for DurationLit {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        from_expr(expr)
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use std::time::Duration;

    #[test]
    fn accepts_units_and_combinations() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1m30s500ms"), Ok(Duration::from_millis(90_500)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(parse("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse("7ns"), Ok(Duration::from_nanos(7)));
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "", "30", "30 sec", "30 s", "-1s", "1.5s", "s", "30sec", "1s1h", "1s1s", "1x", " 1s",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse("30").unwrap_err().contains("no unit"));
        assert!(parse("-1s").unwrap_err().contains("negative"));
        assert!(
            parse("30sec")
                .unwrap_err()
                .contains("unknown unit `sec`: write `\"30s\"`")
        );
        assert!(parse("2mins").unwrap_err().contains("`\"2m\"`"));
        assert!(parse("5S").unwrap_err().contains("`\"5s\"`"));
    }

    #[test]
    fn rejects_overflow() {
        assert!(parse("99999999999999999999999999999999999999999h").is_err());
        assert!(parse("6000000h").unwrap_err().contains("too large"));
        assert!(parse("5000000h").is_ok());
    }
}

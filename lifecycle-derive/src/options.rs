//! Option value types shared by the macros' attribute parsers. Each reads the option's name
//! from the attribute, so a wrong value gets a message naming the option and the fix (rather
//! than darling's generic "Unexpected type").

use darling::FromMeta;
use darling::util::path_to_string;
use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::{Expr, Lit, Meta};

/// The value after `=`, or an error saying the option needs one.
fn value<'a>(item: &'a Meta, example: &str) -> darling::Result<&'a Expr> {
    let name = path_to_string(item.path());
    match item {
        Meta::NameValue(nv) => Ok(strip_group(&nv.value)),
        other => Err(darling::Error::custom(format!(
            "`{name}` needs a value: `{name} = {example}`"
        ))
        .with_span(other)),
    }
}

/// An expression without the invisible groups a `macro_rules!` `$t:expr` fragment wraps it in.
pub(crate) fn strip_group(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => strip_group(&group.expr),
        other => other,
    }
}

/// A string option such as `name = "…"`.
#[derive(Clone)]
pub(crate) struct Text {
    pub(crate) value: String,
    pub(crate) span: Span,
}

impl FromMeta for Text {
    fn from_meta(item: &Meta) -> darling::Result<Self> {
        let name = path_to_string(item.path());
        match value(item, "\"…\"")? {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(Self {
                value: s.value(),
                span: s.span(),
            }),
            other => Err(darling::Error::custom(format!(
                "`{name}` is a string: write `{name} = \"…\"`"
            ))
            .with_span(other)),
        }
    }
}

/// A flag such as `tasks` or `blocking`. Written with a value, it still counts as present
/// (what the user meant), and the error is kept to be reported.
#[derive(Clone, Default)]
pub(crate) struct FlagOpt {
    pub(crate) span: Option<Span>,
    pub(crate) error: Option<darling::Error>,
}

impl FlagOpt {
    pub(crate) fn is_present(&self) -> bool {
        self.span.is_some()
    }
}

impl FromMeta for FlagOpt {
    fn from_meta(item: &Meta) -> darling::Result<Self> {
        let name = path_to_string(item.path());
        let error = match item {
            Meta::Path(_) => None,
            other => Some(
                darling::Error::custom(format!(
                    "`{name}` is a flag: write `{name}` alone, without a value"
                ))
                .with_span(other),
            ),
        };
        Ok(Self {
            span: Some(item.path().span()),
            error,
        })
    }
}

/// `crate = path::to::lifecycle_core` (a string with a path is accepted too).
#[derive(Clone)]
pub(crate) struct CratePath(pub(crate) syn::Path);

impl FromMeta for CratePath {
    fn from_meta(item: &Meta) -> darling::Result<Self> {
        const HINT: &str =
            "`crate` is the path to `lifecycle_core`, such as `crate = my_app::lifecycle`";
        match value(item, "my_app::lifecycle")? {
            Expr::Path(path) if path.qself.is_none() => Ok(Self(path.path.clone())),
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => s
                .parse()
                .map(Self)
                .map_err(|_| darling::Error::custom(HINT).with_span(s)),
            other => Err(darling::Error::custom(HINT).with_span(other)),
        }
    }
}

/// A non-negative count such as `max_restarts = 5`.
#[derive(Clone, Copy)]
pub(crate) struct Count {
    pub(crate) value: u32,
    pub(crate) span: Span,
}

impl FromMeta for Count {
    fn from_meta(item: &Meta) -> darling::Result<Self> {
        let name = path_to_string(item.path());
        let expr = value(item, "5")?;
        let error = || {
            darling::Error::custom(format!(
                "`{name}` is a count: a non-negative integer such as `{name} = 5`"
            ))
            .with_span(expr)
        };
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Int(int), ..
            }) => int
                .base10_parse::<u32>()
                .map(|value| Self {
                    value,
                    span: int.span(),
                })
                .map_err(|_| error()),
            _ => Err(error()),
        }
    }
}

/// A boolean option such as `ready_in_backoff = true` (the bare word means `true`).
#[derive(Clone, Copy)]
pub(crate) struct BoolOpt {
    pub(crate) value: bool,
}

impl FromMeta for BoolOpt {
    fn from_meta(item: &Meta) -> darling::Result<Self> {
        let name = path_to_string(item.path());
        if let Meta::Path(_) = item {
            return Ok(Self { value: true });
        }
        let expr = value(item, "true")?;
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Bool(b), ..
            }) => Ok(Self { value: b.value }),
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) if matches!(s.value().as_str(), "true" | "false") => {
                Err(darling::Error::custom(format!(
                    "`{name}` is a boolean, not a string: write `{name} = {}` without quotes",
                    s.value()
                ))
                .with_span(s))
            }
            other => Err(darling::Error::custom(format!(
                "`{name}` is `true` or `false`, such as `{name} = true`"
            ))
            .with_span(other)),
        }
    }
}

/// A fraction such as `jitter = 0.1` (an integer `0` or `1` is accepted).
#[derive(Clone, Copy)]
pub(crate) struct Fraction {
    pub(crate) value: f64,
}

impl FromMeta for Fraction {
    fn from_meta(item: &Meta) -> darling::Result<Self> {
        let name = path_to_string(item.path());
        let expr = value(item, "0.1")?;
        let error = || {
            darling::Error::custom(format!(
                "`{name}` is a fraction between 0.0 and 1.0, such as `{name} = 0.1`"
            ))
            .with_span(expr)
        };
        let parsed = match expr {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Float(f), ..
            }) => f.base10_parse::<f64>().ok(),
            Expr::Lit(syn::ExprLit {
                lit: Lit::Int(i), ..
            }) => i.base10_parse::<f64>().ok(),
            _ => None,
        };
        match parsed {
            Some(value) if value.is_finite() && (0.0..=1.0).contains(&value) => Ok(Self { value }),
            _ => Err(error()),
        }
    }
}

/// An expression taken as written (a string literal stays a string).
#[derive(Clone)]
pub(crate) struct VerbatimExpr(pub(crate) Expr);

impl FromMeta for VerbatimExpr {
    fn from_meta(item: &Meta) -> darling::Result<Self> {
        value(item, "expr").map(|expr| Self(expr.clone()))
    }
}

/// A string option with a fixed set of values, such as `restart = "on_failure"`. A bare word
/// (`restart = on_failure`) or another literal gets an error that says how to write it; an
/// unknown string gets the closest value as "did you mean".
pub(crate) fn choice<T: Copy>(item: &Meta, choices: &[(&str, T)]) -> darling::Result<(T, Span)> {
    let name = path_to_string(item.path());
    let listed = choices
        .iter()
        .map(|(text, _)| format!("\"{text}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let expr = value(
        item,
        &format!("\"{}\"", choices.first().map_or("", |c| c.0)),
    )?;
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let text = s.value();
            if let Some((_, value)) = choices.iter().find(|(c, _)| *c == text) {
                return Ok((*value, s.span()));
            }
            let hint = closest(&text, choices.iter().map(|c| c.0))
                .map_or_else(String::new, |c| format!("; did you mean \"{c}\"?"));
            Err(darling::Error::custom(format!(
                "unknown `{name}` value \"{text}\": expected one of {listed}{hint}"
            ))
            .with_span(s))
        }
        Expr::Path(path) if path.qself.is_none() && path.path.get_ident().is_some() => {
            let word = path
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            let suggestion = choices
                .iter()
                .map(|c| c.0)
                .find(|c| *c == word)
                .or_else(|| closest(&word, choices.iter().map(|c| c.0)));
            let message = match suggestion {
                Some(c) => {
                    format!("`{name}` is a string: write `{name} = \"{c}\"` (one of {listed})")
                }
                None => format!("`{name}` is a string, one of {listed}"),
            };
            Err(darling::Error::custom(message).with_span(expr))
        }
        other => Err(
            darling::Error::custom(format!("`{name}` is a string, one of {listed}"))
                .with_span(other),
        ),
    }
}

/// The candidate closest to `text` by edit distance, if it is close enough to be a typo.
pub(crate) fn closest<'a>(
    text: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(text, c), c))
        .filter(|(d, c)| *d <= (c.len().max(text.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

//! The fast path of input entries: the unary tests most tables are made of (literals, lists
//! of them, comparisons and ranges with literal bounds, `not(...)`) compiled at parse time and
//! applied to the input value without the FEEL evaluator (no scope lookups, no allocation).
//!
//! It only answers where its answer is certain to equal the FEEL evaluator's: a number test
//! against a number, a string test against a string, a boolean test against a boolean. Any
//! other pairing (null, dates, a string against a number, ...) returns `None` and the entry's
//! FEEL expression decides, so the semantics stay those of [`super::unary`].

use crate::value::Value;

/// A literal in a unary test.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// A number (kept as i64 too when integral, for exact comparison of integers).
    Number(f64, Option<i64>),
    /// A string without escapes.
    Text(String),
    /// `true` / `false`.
    Bool(bool),
}

/// One compiled unary test.
#[derive(Debug, Clone, PartialEq)]
pub enum FastTest {
    /// Any of these (a comma list).
    Any(Vec<FastTest>),
    /// None of these (`not(...)`).
    Not(Vec<FastTest>),
    /// Equal to a literal.
    Eq(Lit),
    /// `<`, `<=`, `>`, `>=` a number: (is less-than, inclusive, bound).
    Cmp(bool, bool, f64, Option<i64>),
    /// A range of numbers: low, low inclusive, high, high inclusive.
    Range(Box<(Lit, bool, Lit, bool)>),
}

/// A number as (f64, exact integer when integral).
fn number(v: &Value) -> Option<(f64, Option<i64>)> {
    match v {
        Value::Short(n) => Some((f64::from(*n), Some(i64::from(*n)))),
        Value::Integer(n) => Some((f64::from(*n), Some(i64::from(*n)))),
        Value::Long(n) => Some((*n as f64, Some(*n))),
        Value::Double(d) => Some((*d, None)),
        _ => None,
    }
}

/// Compare two numbers exactly when both are integers.
fn cmp(a: (f64, Option<i64>), b: (f64, Option<i64>)) -> Option<std::cmp::Ordering> {
    match (a.1, b.1) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.0.partial_cmp(&b.0),
    }
}

impl FastTest {
    /// Whether `value` passes, or `None` when the FEEL evaluator must decide.
    pub fn test(&self, value: &Value) -> Option<bool> {
        match self {
            FastTest::Any(tests) => {
                let mut hit = false;
                for t in tests {
                    hit |= t.test(value)?;
                }
                Some(hit)
            }
            FastTest::Not(tests) => {
                let mut hit = false;
                for t in tests {
                    hit |= t.test(value)?;
                }
                Some(!hit)
            }
            FastTest::Eq(Lit::Text(s)) => match value {
                Value::String(v) => Some(v == s),
                _ => None,
            },
            FastTest::Eq(Lit::Bool(b)) => match value {
                Value::Boolean(v) => Some(v == b),
                _ => None,
            },
            FastTest::Eq(Lit::Number(f, i)) => {
                let v = number(value)?;
                Some(cmp(v, (*f, *i))? == std::cmp::Ordering::Equal)
            }
            FastTest::Cmp(less, inclusive, f, i) => {
                let o = cmp(number(value)?, (*f, *i))?;
                Some(match (less, inclusive) {
                    (true, false) => o.is_lt(),
                    (true, true) => o.is_le(),
                    (false, false) => o.is_gt(),
                    (false, true) => o.is_ge(),
                })
            }
            FastTest::Range(r) => {
                let (Lit::Number(lf, li), low_in, Lit::Number(hf, hi), high_in) = &**r else {
                    return None;
                };
                let v = number(value)?;
                let lo = cmp(v, (*lf, *li))?;
                let hi = cmp(v, (*hf, *hi))?;
                Some(
                    (if *low_in { lo.is_ge() } else { lo.is_gt() })
                        && (if *high_in { hi.is_le() } else { hi.is_lt() }),
                )
            }
        }
    }
}

/// Compile an input entry's text, or `None` when it is anything but the simple forms.
pub fn compile(text: &str) -> Option<FastTest> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
    };
    let tests = p.list()?;
    p.ws();
    if p.at != p.s.len() || tests.is_empty() {
        return None;
    }
    Some(match <[FastTest; 1]>::try_from(tests) {
        Ok([one]) => one,
        Err(many) => FastTest::Any(many),
    })
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.ws();
        if self.s[self.at..].starts_with(token.as_bytes()) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn list(&mut self) -> Option<Vec<FastTest>> {
        let mut out = vec![self.test()?];
        while self.eat(",") {
            out.push(self.test()?);
        }
        Some(out)
    }

    fn test(&mut self) -> Option<FastTest> {
        if self.eat("not(") {
            let inner = self.list()?;
            return self.eat(")").then_some(FastTest::Not(inner));
        }
        for (op, less, inclusive) in [
            ("<=", true, true),
            (">=", false, true),
            ("<", true, false),
            (">", false, false),
        ] {
            if self.eat(op) {
                return match self.literal()? {
                    Lit::Number(f, i) => Some(FastTest::Cmp(less, inclusive, f, i)),
                    _ => None,
                };
            }
        }
        let open = if self.eat("[") {
            Some(true)
        } else if self.eat("(") || self.eat("]") {
            Some(false)
        } else {
            None
        };
        if let Some(low_in) = open {
            let low = self.literal()?;
            if !self.eat("..") {
                return None;
            }
            let high = self.literal()?;
            let high_in = if self.eat("]") {
                true
            } else if self.eat(")") || self.eat("[") {
                false
            } else {
                return None;
            };
            return Some(FastTest::Range(Box::new((low, low_in, high, high_in))));
        }
        self.literal().map(FastTest::Eq)
    }

    fn literal(&mut self) -> Option<Lit> {
        self.ws();
        let rest = &self.s[self.at..];
        if rest.first() == Some(&b'"') {
            let end = rest[1..].iter().position(|&b| b == b'"')? + 1;
            let body = &rest[1..end];
            if body.contains(&b'\\') {
                return None;
            }
            self.at += end + 1;
            return Some(Lit::Text(String::from_utf8(body.to_vec()).ok()?));
        }
        for (word, b) in [("true", true), ("false", false)] {
            if rest.starts_with(word.as_bytes())
                && !rest
                    .get(word.len())
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                self.at += word.len();
                return Some(Lit::Bool(b));
            }
        }
        let mut end = usize::from(rest.first() == Some(&b'-'));
        let digits_start = end;
        while rest.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        // A '.' followed by a digit is a decimal point; '..' is a range.
        if rest.get(end) == Some(&b'.') && rest.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end += 1;
            while rest.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        if end == digits_start
            || rest
                .get(end)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        {
            return None;
        }
        let text = std::str::from_utf8(&rest[..end]).ok()?;
        let f: f64 = text.parse().ok()?;
        let i = text.parse::<i64>().ok();
        self.at += end;
        Some(Lit::Number(f, i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_forms_compile_and_others_fall_back() {
        let cases: &[(&str, Value, Option<bool>)] = &[
            ("[3..5]", Value::Integer(5), Some(true)),
            ("[3..5)", Value::Integer(5), Some(false)),
            ("]3..5]", Value::Integer(3), Some(false)),
            ("< 10", Value::Double(9.5), Some(true)),
            (">= 10", Value::Long(10), Some(true)),
            ("12,1,2", Value::Integer(1), Some(true)),
            ("12,1,2", Value::Integer(3), Some(false)),
            ("\"a\",\"b\"", Value::String("b".into()), Some(true)),
            ("not(\"a\")", Value::String("b".into()), Some(true)),
            ("not(\"a\")", Value::String("a".into()), Some(false)),
            ("true", Value::Boolean(true), Some(true)),
            // Mismatched kinds and nulls: the FEEL evaluator decides.
            ("\"a\"", Value::Integer(1), None),
            ("< 10", Value::Null, None),
            ("< 10", Value::String("5".into()), None),
        ];
        for (text, value, expected) in cases {
            let t = compile(text).unwrap_or_else(|| panic!("{text} compiles"));
            assert_eq!(t.test(value), *expected, "{text} on {value:?}");
        }
        for text in [
            "x > 1",
            "? < 5",
            "date(\"2020-01-01\")",
            "[1..",
            "\"a\\\"b\"",
            "-",
            "",
        ] {
            assert!(compile(text).is_none(), "{text}");
        }
    }
}

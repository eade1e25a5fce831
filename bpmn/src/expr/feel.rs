//! FEEL front end: the subset of Camunda 8's FEEL used in conditions, assignees and mappings
//! (the text after the leading `=`), and its built-in functions.
//!
//! Precedence, loosest first: `if then else`, `or`, `and`, comparisons (`= != < > <= >=`,
//! `between .. and ..`, `in`), `+ -`, `* /`, `**`, prefix `-`, then postfix `.name` and
//! `[index or filter]`. Not supported (rejected with a clear error): `for`, `some`, `every`,
//! ranges, user-defined functions, temporal literals, and functions that read the clock
//! (`now()`, `today()`): time must come from the engine.

use super::ExprError;
use super::ast::{Ast, BinaryOp, UnaryOp};
use super::feel_ops::{feel_arith, feel_eq, feel_order};
use super::juel::int_value;
use super::syntax::{Cursor, Dialect, Node, Tok, describe, error, tokenize};
use super::value_ops::{arity, to_display_string};
use crate::value::Value;
use serde_json::Value as Json;

/// Built-in functions, with their names as written (some contain spaces) and arities.
const BUILTINS: &[(&str, usize, usize)] = &[
    ("string", 1, 1),
    ("number", 1, 1),
    ("count", 1, 1),
    ("sum", 1, usize::MAX),
    ("min", 1, usize::MAX),
    ("max", 1, usize::MAX),
    ("abs", 1, 1),
    ("floor", 1, 2),
    ("ceiling", 1, 2),
    ("contains", 2, 2),
    ("starts with", 2, 2),
    ("ends with", 2, 2),
    ("upper case", 1, 1),
    ("lower case", 1, 1),
    ("string length", 1, 1),
    ("substring", 2, 3),
    ("list contains", 2, 2),
    ("is defined", 1, 1),
    ("substring before", 2, 2),
    ("substring after", 2, 2),
    ("date", 1, 3),
    ("date and time", 1, 1),
];

/// Functions that would make evaluation depend on the wall clock.
const CLOCK_FUNCTIONS: &[&str] = &["now", "today"];

/// Words that cannot be variable names.
const KEYWORDS: &[&str] = &[
    "if",
    "then",
    "else",
    "and",
    "or",
    "between",
    "in",
    "true",
    "false",
    "null",
    "for",
    "some",
    "every",
    "return",
    "satisfies",
    "instance",
    "function",
];

/// Parse the FEEL text after `=`.
pub(crate) fn parse(src: &str) -> Result<Ast, ExprError> {
    let (toks, end) = tokenize(src, 0, Dialect::Feel)?;
    if toks.is_empty() {
        return Err(error("empty FEEL expression after '='"));
    }
    let mut p = Parser {
        c: Cursor::new(&toks, end),
    };
    let node = p.expr()?;
    if !p.c.at_end() {
        return Err(p.c.unexpected("expected an operator"));
    }
    Ok(*node.ast)
}

struct Parser<'a> {
    c: Cursor<'a>,
}

impl Parser<'_> {
    fn expr(&mut self) -> Result<Node, ExprError> {
        self.c.enter()?;
        let r = self.disjunction();
        self.c.leave();
        r
    }

    fn disjunction(&mut self) -> Result<Node, ExprError> {
        let mut lhs = self.conjunction()?;
        while self.c.eat_word("or") {
            let rhs = self.conjunction()?;
            lhs = Node::binary(BinaryOp::Or, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn conjunction(&mut self) -> Result<Node, ExprError> {
        let mut lhs = self.comparison()?;
        while self.c.eat_word("and") {
            let rhs = self.comparison()?;
            lhs = Node::binary(BinaryOp::And, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn comparison(&mut self) -> Result<Node, ExprError> {
        let lhs = self.additive()?;
        let op = match self.c.peek() {
            Some(Tok::Sym("=")) => BinaryOp::Eq,
            Some(Tok::Sym("!=")) => BinaryOp::Ne,
            Some(Tok::Sym("<")) => BinaryOp::Lt,
            Some(Tok::Sym(">")) => BinaryOp::Gt,
            Some(Tok::Sym("<=")) => BinaryOp::Le,
            Some(Tok::Sym(">=")) => BinaryOp::Ge,
            Some(Tok::Sym("==")) => return Err(self.c.unexpected("FEEL compares with '='")),
            Some(Tok::Name(w)) if w == "between" => {
                self.c.next();
                let low = self.additive()?;
                if !self.c.eat_word("and") {
                    return Err(self.c.unexpected("expected 'and' in 'x between a and b'"));
                }
                let high = self.additive()?;
                return Node::ternary(Ast::Between, lhs, low, high);
            }
            Some(Tok::Name(w)) if w == "in" => {
                self.c.next();
                let set = self.additive()?;
                let d = lhs.depth.max(set.depth);
                return Node::new(Ast::In(lhs.ast, set.ast), d);
            }
            _ => return Ok(lhs),
        };
        self.c.next();
        let rhs = self.additive()?;
        Node::binary(op, lhs, rhs)
    }

    fn additive(&mut self) -> Result<Node, ExprError> {
        let mut lhs = self.multiplicative()?;
        loop {
            let op = if self.c.eat_sym("+") {
                BinaryOp::Add
            } else if self.c.eat_sym("-") {
                BinaryOp::Sub
            } else {
                return Ok(lhs);
            };
            let rhs = self.multiplicative()?;
            lhs = Node::binary(op, lhs, rhs)?;
        }
    }

    fn multiplicative(&mut self) -> Result<Node, ExprError> {
        let mut lhs = self.power()?;
        loop {
            let op = if self.c.eat_sym("*") {
                BinaryOp::Mul
            } else if self.c.eat_sym("/") {
                BinaryOp::Div
            } else if matches!(self.c.peek(), Some(Tok::Sym("%"))) {
                return Err(self.c.unexpected("FEEL has no '%'; use modulo(a, b)"));
            } else {
                return Ok(lhs);
            };
            let rhs = self.power()?;
            lhs = Node::binary(op, lhs, rhs)?;
        }
    }

    fn power(&mut self) -> Result<Node, ExprError> {
        let mut lhs = self.unary()?;
        while self.c.eat_sym("**") {
            let rhs = self.unary()?;
            lhs = Node::binary(BinaryOp::Pow, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        if self.c.eat_sym("-") {
            self.c.enter()?;
            let x = self.unary();
            self.c.leave();
            return Node::unary(UnaryOp::Neg, x?);
        }
        if matches!(self.c.peek(), Some(Tok::Sym("!"))) {
            return Err(self.c.unexpected("FEEL negates with not(x)"));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Node, ExprError> {
        let mut node = self.primary()?;
        loop {
            if self.c.eat_sym(".") {
                node = self.dot(node)?;
            } else if self.c.eat_sym("[") {
                node = self.bracket(node)?;
            } else {
                return Ok(node);
            }
        }
    }

    fn dot(&mut self, node: Node) -> Result<Node, ExprError> {
        let name = match self.c.next() {
            Some(Tok::Name(n)) => n.clone(),
            _ => return Err(self.c.unexpected("expected a name after '.'")),
        };
        let d = node.depth;
        Node::new(Ast::Property(node.ast, name), d)
    }

    fn bracket(&mut self, node: Node) -> Result<Node, ExprError> {
        let key = self.expr()?;
        self.c.expect_sym("]")?;
        let d = node.depth.max(key.depth);
        Node::new(Ast::Index(node.ast, key.ast), d)
    }

    /// A function name written as several words (`upper case`, `string length`), if the
    /// tokens at the cursor spell one followed by `(`; returns it and its token count.
    fn multiword_function(&self) -> Option<(&'static str, usize)> {
        BUILTINS.iter().find_map(|(name, _, _)| {
            let words: Vec<&str> = name.split(' ').collect();
            if words.len() < 2 {
                return None;
            }
            let spelled = words
                .iter()
                .enumerate()
                .all(|(i, w)| matches!(self.c.peek_at(i), Some(Tok::Name(n)) if n == w));
            let call = matches!(self.c.peek_at(words.len()), Some(Tok::Sym("(")));
            (spelled && call).then_some((*name, words.len()))
        })
    }

    fn call(&mut self, name: &str) -> Result<Node, ExprError> {
        if CLOCK_FUNCTIONS.contains(&name) {
            return Err(error(format!(
                "{name}() is not allowed: an expression must not read the clock \
                 (pass the time in a variable, or use a timer event)"
            )));
        }
        let Some((_, min, max)) = BUILTINS.iter().find(|(n, _, _)| *n == name) else {
            return Err(error(format!("unknown function '{name}'")));
        };
        self.c.expect_sym("(")?;
        let mut args = Vec::new();
        if !self.c.eat_sym(")") {
            loop {
                args.push(self.expr()?);
                if self.c.eat_sym(")") {
                    break;
                }
                if !self.c.eat_sym(",") {
                    return Err(self.c.unexpected("expected ',' or ')' in the arguments"));
                }
            }
        }
        if args.len() < *min || args.len() > *max {
            let n = if min == max {
                min.to_string()
            } else if *max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(arity(name, &n));
        }
        let (args, d) = Node::many(args);
        Node::new(Ast::Call(name.to_owned(), args), d)
    }

    // Functions on the recursion path keep few locals (see the JUEL parser).
    fn primary(&mut self) -> Result<Node, ExprError> {
        if self.c.eat_sym("(") {
            let inner = self.expr()?;
            self.c.expect_sym(")")?;
            return Ok(inner);
        }
        if self.c.eat_sym("[") {
            return self.list();
        }
        if self.c.eat_sym("{") {
            return self.context();
        }
        if self.c.eat_word("if") {
            return self.if_then_else();
        }
        if self.c.is_word("not") && matches!(self.c.peek_at(1), Some(Tok::Sym("("))) {
            self.c.next();
            self.c.next();
            let x = self.expr()?;
            self.c.expect_sym(")")?;
            return Node::unary(UnaryOp::Not, x);
        }
        self.atom()
    }

    fn if_then_else(&mut self) -> Result<Node, ExprError> {
        let cond = self.expr()?;
        if !self.c.eat_word("then") {
            return Err(self.c.unexpected("expected 'then'"));
        }
        let then = self.expr()?;
        if !self.c.eat_word("else") {
            return Err(self.c.unexpected("expected 'else'"));
        }
        let otherwise = self.expr()?;
        Node::ternary(Ast::Conditional, cond, then, otherwise)
    }

    /// A list literal after its `[`.
    fn list(&mut self) -> Result<Node, ExprError> {
        let mut items = Vec::new();
        if !self.c.eat_sym("]") {
            loop {
                items.push(self.expr()?);
                if self.c.eat_sym("]") {
                    break;
                }
                if matches!(self.c.peek(), Some(Tok::Sym(".."))) {
                    return Err(self.c.unexpected("ranges are not supported"));
                }
                if !self.c.eat_sym(",") {
                    return Err(self.c.unexpected("expected ',' or ']' in the list"));
                }
            }
        }
        let (items, d) = Node::many(items);
        Node::new(Ast::List(items), d)
    }

    /// A literal, a name or a function call.
    fn atom(&mut self) -> Result<Node, ExprError> {
        if let Some((name, words)) = self.multiword_function() {
            for _ in 0..words {
                self.c.next();
            }
            return self.call(name);
        }
        let pos = self.c.pos();
        let Some(tok) = self.c.next() else {
            return Err(self.c.unexpected("expected a value"));
        };
        let ast = match tok {
            Tok::Int(n) => Ast::Literal(int_value(*n)),
            Tok::Float(f) => Ast::Literal(Value::Double(*f)),
            Tok::Str(s) => Ast::Literal(Value::String(s.clone())),
            Tok::Name(n) => match n.as_str() {
                "true" => Ast::Literal(Value::Boolean(true)),
                "false" => Ast::Literal(Value::Boolean(false)),
                "null" => Ast::Literal(Value::Null),
                word if KEYWORDS.contains(&word) => {
                    return Err(error(format!(
                        "'{word}' is not supported here (offset {pos})"
                    )));
                }
                name if matches!(self.c.peek(), Some(Tok::Sym("("))) => {
                    return self.call(name);
                }
                _ => Ast::Ident(n.clone()),
            },
            other => {
                return Err(error(format!(
                    "expected a value, found {} at offset {pos}",
                    describe(other)
                )));
            }
        };
        Ok(Node::leaf(ast))
    }

    /// A context literal after its `{`.
    fn context(&mut self) -> Result<Node, ExprError> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        if !self.c.eat_sym("}") {
            loop {
                let key = match self.c.next() {
                    Some(Tok::Name(n) | Tok::Str(n)) => n.clone(),
                    _ => return Err(self.c.unexpected("expected a context key")),
                };
                self.c.expect_sym(":")?;
                let value = self.expr()?;
                if entries.iter().any(|(k, _)| *k == key) {
                    return Err(error(format!("duplicate context key '{key}'")));
                }
                entries.push((key, value));
                if self.c.eat_sym("}") {
                    break;
                }
                if !self.c.eat_sym(",") {
                    return Err(self.c.unexpected("expected ',' or '}' in the context"));
                }
            }
        }
        let d = entries.iter().map(|(_, n)| n.depth).max().unwrap_or(0);
        let entries = entries.into_iter().map(|(k, n)| (k, *n.ast)).collect();
        Node::new(Ast::Context(entries), d)
    }
}

/// The items of a list argument, or of the arguments themselves (`sum(1, 2)` = `sum([1, 2])`).
fn items_of(args: &[Value]) -> Option<Vec<Value>> {
    match args {
        [Value::Json(Json::Array(items))] => Some(items.iter().map(Value::from_json).collect()),
        [Value::Object { .. }] => match args[0].to_json() {
            Json::Array(items) => Some(items.iter().map(Value::from_json).collect()),
            _ => None,
        },
        [Value::Null] => None,
        [single] if args.len() == 1 => Some(vec![single.clone()]),
        many => Some(many.to_vec()),
    }
}

fn chars_to_string(cs: &[char]) -> Value {
    Value::String(cs.iter().collect())
}

/// DMN 1.4+: `floor(n, scale)` / `ceiling(n, scale)` round to `scale` decimal places (null for
/// a scale that is not an integer, or out of f64's reach).
fn round_to_scale(floor: bool, args: &[Value]) -> Value {
    let scale = match args.get(1) {
        Some(v @ (Value::Short(_) | Value::Integer(_) | Value::Long(_))) => v.as_i64(),
        _ => None,
    };
    let n = args
        .first()
        .filter(|v| !matches!(v, Value::String(_)))
        .and_then(Value::as_f64);
    match (n, scale) {
        (Some(f), Some(scale)) if (-300..=300).contains(&scale) => {
            let factor = 10f64.powi(scale as i32);
            let shifted = f * factor;
            let r = if floor {
                shifted.floor()
            } else {
                shifted.ceil()
            };
            Value::Double(r / factor)
        }
        _ => Value::Null,
    }
}

/// Call built-in `name` (validated at parse time) on evaluated arguments. Type mismatches give
/// null, as in FEEL.
pub(crate) fn call_builtin(name: &str, args: &[Value]) -> Result<Value, ExprError> {
    let s = |i: usize| match args.get(i) {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let n = |i: usize| args.get(i).and_then(Value::as_f64);
    Ok(match name {
        "string" => match args {
            [Value::Null] => Value::Null,
            [v] => Value::String(to_display_string(v)),
            _ => return Err(arity(name, "1")),
        },
        "number" => match args.first() {
            Some(Value::String(t)) => parse_number(t.trim()),
            Some(v) if v.as_f64().is_some() => v.clone(),
            _ => Value::Null,
        },
        "count" => match args.first().map(Value::to_json) {
            Some(Json::Array(items)) => int_value(items.len() as i64),
            _ => Value::Null,
        },
        "sum" => match items_of(args) {
            Some(items) if !items.is_empty() => {
                let mut total = Value::Integer(0);
                for i in items {
                    if i.as_f64().is_none() {
                        return Ok(Value::Null);
                    }
                    total = feel_arith(BinaryOp::Add, total, i);
                }
                total
            }
            _ => Value::Null,
        },
        "min" | "max" => match items_of(args) {
            Some(items) if !items.is_empty() => {
                let mut best = items[0].clone();
                for i in &items[1..] {
                    match feel_order(i, &best) {
                        Some(o) if (name == "min") == o.is_lt() && o.is_ne() => best = i.clone(),
                        Some(_) => {}
                        None => return Ok(Value::Null),
                    }
                }
                if items.len() == 1 && feel_order(&best, &best).is_none() {
                    Value::Null
                } else {
                    best
                }
            }
            _ => Value::Null,
        },
        "abs" => match args.first() {
            Some(v) if v.as_f64().is_some() => {
                if n(0).is_some_and(|f| f < 0.0) {
                    feel_arith(BinaryOp::Sub, Value::Integer(0), v.clone())
                } else {
                    v.clone()
                }
            }
            _ => Value::Null,
        },
        "floor" | "ceiling" if args.len() == 2 => round_to_scale(name == "floor", args),
        "floor" | "ceiling" => match args.first() {
            Some(Value::Double(f)) => {
                let r = if name == "floor" { f.floor() } else { f.ceil() };
                if r.abs() < 9.0e15 {
                    int_value(r as i64)
                } else {
                    Value::Double(r)
                }
            }
            Some(v) if v.as_i64().is_some() => v.clone(),
            _ => Value::Null,
        },
        "contains" | "starts with" | "ends with" => match (s(0), s(1)) {
            (Some(a), Some(b)) => Value::Boolean(match name {
                "contains" => a.contains(b),
                "starts with" => a.starts_with(b),
                _ => a.ends_with(b),
            }),
            _ => Value::Null,
        },
        "upper case" => s(0).map_or(Value::Null, |t| Value::String(t.to_uppercase())),
        "lower case" => s(0).map_or(Value::Null, |t| Value::String(t.to_lowercase())),
        "string length" => s(0).map_or(Value::Null, |t| int_value(t.chars().count() as i64)),
        "substring" => {
            let (Some(text), Some(start)) = (s(0), args.get(1).and_then(Value::as_i64)) else {
                return Ok(Value::Null);
            };
            let chars: Vec<char> = text.chars().collect();
            let len = chars.len() as i64;
            // 1-based; negative counts from the end.
            let from = if start > 0 { start - 1 } else { len + start };
            if start == 0 || from < 0 || from > len {
                return Ok(Value::Null);
            }
            let to = match args.get(2) {
                None => len,
                Some(l) => match l.as_i64() {
                    Some(l) if l >= 0 => from.saturating_add(l).min(len),
                    _ => return Ok(Value::Null),
                },
            };
            chars_to_string(&chars[from as usize..to as usize])
        }
        "list contains" => match args.first().map(Value::to_json) {
            Some(Json::Array(items)) => Value::Boolean(items.iter().any(|i| {
                args.get(1)
                    .is_some_and(|x| feel_eq(&Value::from_json(i), x) == Value::Boolean(true))
            })),
            _ => Value::Null,
        },
        other => return call_text_or_date(other, args),
    })
}

/// The built-ins DMN models need beyond the expression subset (kept apart so each function
/// stays readable).
fn call_text_or_date(name: &str, args: &[Value]) -> Result<Value, ExprError> {
    let s = |i: usize| match args.get(i) {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    Ok(match name {
        "substring before" | "substring after" => match (s(0), s(1)) {
            (Some(text), Some(m)) => Value::String(substring_around(name, text, m)),
            _ => Value::Null,
        },
        "date" => date_value(args),
        "date and time" => s(0).map_or(Value::Null, date_time_value),
        other => return Err(error(format!("unknown function '{other}'"))),
    })
}

/// FEEL `substring before(text, match)` / `substring after(text, match)`: the text around
/// the first occurrence of `match`, empty when it does not occur (as the spec says).
fn substring_around(name: &str, text: &str, m: &str) -> String {
    match text.find(m) {
        Some(i) if name == "substring before" => text[..i].to_owned(),
        Some(i) => text[i + m.len()..].to_owned(),
        None => String::new(),
    }
}

/// FEEL `date("2018-12-01")` / `date(2018, 12, 1)`: a `Date` at UTC midnight (baton's only
/// temporal value); null for anything else.
fn date_value(args: &[Value]) -> Value {
    let day = match args {
        [Value::String(t)] => chrono::NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok(),
        [y, m, d] => match (y.as_i64(), m.as_i64(), d.as_i64()) {
            (Some(y), Some(m), Some(d)) => i32::try_from(y).ok().and_then(|y| {
                chrono::NaiveDate::from_ymd_opt(y, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
            }),
            _ => None,
        },
        _ => None,
    };
    day.and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(Value::Null, |t| Value::Date(t.and_utc().timestamp_millis()))
}

/// FEEL `date and time("2018-12-01T10:30:00")` (an offset is applied; without one, UTC) or a
/// date alone (midnight) as a `Date`; null for anything else (zone ids included).
fn date_time_value(text: &str) -> Value {
    let t = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Value::Date(dt.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, format) {
            return Value::Date(dt.and_utc().timestamp_millis());
        }
    }
    date_value(&[Value::String(t.to_owned())])
}

/// FEEL `number("12")`: Integer/Long for integers, Double for decimals, null otherwise.
fn parse_number(t: &str) -> Value {
    let numeric = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if !numeric {
        return Value::Null;
    }
    if let Ok(i) = t.parse::<i64>() {
        return int_value(i);
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map_or(Value::Null, Value::Double)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors() {
        let rows: &[(&str, &str)] = &[
            ("", "empty FEEL expression"),
            ("now()", "must not read the clock"),
            ("today()", "must not read the clock"),
            ("a == 1", "FEEL compares with '='"),
            ("!a", "not(x)"),
            ("a % 2", "FEEL has no '%'"),
            ("foo(1)", "unknown function 'foo'"),
            ("count(1, 2)", "takes 1 argument"),
            ("substring(\"a\")", "takes 2 to 3"),
            ("if a then b", "expected 'else'"),
            ("if a b", "expected 'then'"),
            ("x between 1 5", "expected 'and'"),
            ("[1..5]", "ranges are not supported"),
            ("{a: 1, a: 2}", "duplicate context key"),
            ("{1: 2}", "expected a context key"),
            ("for x in y return x", "not supported"),
            ("a b", "expected an operator"),
            ("(1", "expected ')'"),
        ];
        for (src, want) in rows {
            let e = parse(src).expect_err(src);
            assert!(e.message.contains(want), "{src}: {}", e.message);
        }
    }

    #[test]
    fn multiword_names() {
        assert_eq!(
            parse("upper case(\"a\")"),
            Ok(Ast::Call(
                "upper case".into(),
                vec![Ast::Literal("a".into())]
            ))
        );
        // Without a following call, the words are plain names (and an error here).
        assert!(parse("upper case").is_err());
    }
}

//! FEEL unary tests (the input entries of a decision table) rewritten as one FEEL boolean
//! expression over the input value, so the crate's FEEL evaluator runs them:
//!
//! | unary test | expression (input named `cellInput`) |
//! | --- | --- |
//! | `-` or empty | none: matches every value |
//! | `< 10`, `<= x`, `> y`, `>= z` | `cellInput < (10)` ... |
//! | `[1..5]`, `]1..5[`, `(1..5)`, `[1..5)` | `cellInput >= (1) and cellInput <= (5)` ... |
//! | `"a", "b"` | `(cellInput = ("a")) or (cellInput = ("b"))` |
//! | `not("a", "b")` | `not((cellInput = ("a")) or (cellInput = ("b")))` |
//! | `e` (any other expression) | `cellInput in (e)`: membership when `e` is a list, else `=` |
//! | `? > 5` (uses `?`) | `(cellInput > 5) = true` |
//!
//! The rewrite only splits at top-level commas and range dots, outside strings and brackets;
//! the endpoint expressions themselves are parsed by the FEEL parser, which reports their
//! syntax errors.

/// The boolean FEEL expression text for `test` over the variable `input`; `None` when the
/// test matches everything (`-` or empty).
pub fn rewrite(test: &str, input: &str) -> Result<Option<String>, String> {
    let test = test.trim();
    if test.is_empty() || test == "-" {
        return Ok(None);
    }
    if let Some(inner) = strip_call(test, "not") {
        let inner = rewrite_list(inner, input)?;
        return Ok(Some(format!("not({inner})")));
    }
    rewrite_list(test, input).map(Some)
}

/// `name( ... )` spanning the whole text: the inside.
fn strip_call<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(name)?.trim_start();
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    // The closing parenthesis must be the one that matches the opening one.
    let parts = split_top_level(inner, ',').ok()?;
    (!parts.is_empty()).then_some(inner)
}

fn rewrite_list(text: &str, input: &str) -> Result<String, String> {
    let parts = split_top_level(text, ',')?;
    let mut tests = Vec::with_capacity(parts.len());
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!("empty unary test in '{text}'"));
        }
        tests.push(rewrite_one(part, input)?);
    }
    Ok(if tests.len() == 1 {
        tests.remove(0)
    } else {
        tests
            .iter()
            .map(|t| format!("({t})"))
            .collect::<Vec<_>>()
            .join(" or ")
    })
}

fn rewrite_one(test: &str, input: &str) -> Result<String, String> {
    // DMN 1.2+: `?` names the input value, and the test is a boolean expression over it.
    if let Some(expression) = replace_question_mark(test, input) {
        return Ok(expression);
    }
    for op in ["<=", ">=", "!=", "<", ">", "="] {
        if let Some(endpoint) = test.strip_prefix(op) {
            let endpoint = endpoint.trim();
            if endpoint.is_empty() {
                return Err(format!("'{test}' compares with nothing"));
            }
            let op = if op == "=" { "=" } else { op };
            return Ok(format!("{input} {op} ({endpoint})"));
        }
    }
    if let Some(range) = interval(test)? {
        return Ok(range.expression(input));
    }
    // `in` and not `=`: DMN 1.2+ (and Camunda's FEEL engine) test membership when the
    // expression is a list; for any other value `in` is `=`.
    Ok(format!("{input} in ({test})"))
}

/// A FEEL expression `x in <positive unary tests>` (`5 in < 10`, `x in (1, >= 10)`,
/// `"b" in ("a".."c"]`), which the FEEL parser does not read, as the boolean expression of
/// those tests over `(x)`; `None` when `text` is not of that form (a list `in` is left to the
/// FEEL parser).
pub fn rewrite_in(text: &str) -> Option<String> {
    let trimmed = text.trim();
    let first_word = trimmed.split_whitespace().next().unwrap_or_default();
    if ["for", "some", "every", "if"].contains(&first_word) {
        return None;
    }
    let parts = split_top_level_str(trimmed, " in ").ok()?;
    let [lhs, rhs] = parts.as_slice() else {
        return None;
    };
    let (lhs, rhs) = (lhs.trim(), rhs.trim());
    if lhs.is_empty() || rhs.is_empty() {
        return None;
    }
    let input = format!("({lhs})");
    let is_test = |t: &str| {
        ["<", ">", "=", "!="].iter().any(|op| t.starts_with(op))
            || matches!(interval(t), Ok(Some(_)))
    };
    if is_test(rhs) {
        return rewrite(rhs, &input).ok().flatten();
    }
    // `(1, < 5, >= 10)`: a parenthesized list of unary tests.
    let inner = rhs.strip_prefix('(')?.strip_suffix(')')?;
    let tests = split_top_level(inner, ',').ok()?;
    if tests.len() > 1 || tests.iter().any(|t| is_test(t.trim())) {
        return rewrite(inner, &input).ok().flatten();
    }
    None
}

/// `test` with each `?` outside string literals replaced by `input`; `None` without any.
fn replace_question_mark(test: &str, input: &str) -> Option<String> {
    let mut out = String::with_capacity(test.len() + input.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut found = false;
    for c in test.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            out.push(c);
        } else if c == '?' {
            found = true;
            out.push_str(input);
        } else {
            in_string = c == '"';
            out.push(c);
        }
    }
    found.then(|| format!("({out}) = true"))
}

struct Interval<'a> {
    low: &'a str,
    low_closed: bool,
    high: &'a str,
    high_closed: bool,
}

impl Interval<'_> {
    fn expression(&self, input: &str) -> String {
        let low_op = if self.low_closed { ">=" } else { ">" };
        let high_op = if self.high_closed { "<=" } else { "<" };
        format!(
            "{input} {low_op} ({}) and {input} {high_op} ({})",
            self.low.trim(),
            self.high.trim()
        )
    }
}

/// `[a..b]`, `]a..b[`, `(a..b)` and mixes; `None` when the text is not an interval.
fn interval(text: &str) -> Result<Option<Interval<'_>>, String> {
    let Some(first) = text.chars().next() else {
        return Ok(None);
    };
    let Some(last) = text.chars().last() else {
        return Ok(None);
    };
    let low_closed = match first {
        '[' => true,
        ']' | '(' => false,
        _ => return Ok(None),
    };
    let high_closed = match last {
        ']' => true,
        '[' | ')' => false,
        _ => return Ok(None),
    };
    // A lone `[` is both the first and the last character: there is no inner text, and
    // slicing between the two would run backwards (and panic).
    let Some(inner) = text.get(first.len_utf8()..text.len() - last.len_utf8()) else {
        return Ok(None);
    };
    let mut parts = split_top_level_str(inner, "..")?;
    if parts.len() != 2 {
        // `(x)` is a parenthesized expression, `[1,2]` a list: not intervals.
        return Ok(None);
    }
    let high = parts.pop().unwrap_or_default();
    let low = parts.pop().unwrap_or_default();
    if low.trim().is_empty() || high.trim().is_empty() {
        return Err(format!("interval '{text}' needs both endpoints"));
    }
    Ok(Some(Interval {
        low,
        low_closed,
        high,
        high_closed,
    }))
}

fn split_top_level(text: &str, separator: char) -> Result<Vec<&str>, String> {
    let mut buf = [0u8; 4];
    split_top_level_str(text, separator.encode_utf8(&mut buf))
}

/// Split at `separator` where it stands outside string literals and brackets.
fn split_top_level_str<'a>(text: &'a str, separator: &str) -> Result<Vec<&'a str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut start = 0;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            // Bytes, not `text[i..]`: `i` may sit inside a multi-byte character.
            _ if depth == 0 && bytes[i..].starts_with(separator.as_bytes()) => {
                parts.push(&text[start..i]);
                i += separator.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if in_string {
        return Err(format!("unterminated string in '{text}'"));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(t: &str) -> Option<String> {
        rewrite(t, "cellInput").expect("rewrites")
    }

    #[test]
    fn forms() {
        assert_eq!(r("-"), None);
        assert_eq!(r("  "), None);
        assert_eq!(r("< 10").as_deref(), Some("cellInput < (10)"));
        assert_eq!(r(">=x").as_deref(), Some("cellInput >= (x)"));
        assert_eq!(r("\"Fall\"").as_deref(), Some("cellInput in (\"Fall\")"));
        assert_eq!(
            r("[1..5]").as_deref(),
            Some("cellInput >= (1) and cellInput <= (5)")
        );
        assert_eq!(
            r("]1..5[").as_deref(),
            Some("cellInput > (1) and cellInput < (5)")
        );
        assert_eq!(
            r("\"a\", \"b,c\"").as_deref(),
            Some("(cellInput in (\"a\")) or (cellInput in (\"b,c\"))")
        );
        assert_eq!(
            r("not(\"a\", \"b\")").as_deref(),
            Some("not((cellInput in (\"a\")) or (cellInput in (\"b\")))")
        );
        // A string with range dots is a value, not an interval.
        assert_eq!(r("\"1..2\"").as_deref(), Some("cellInput in (\"1..2\")"));
        assert_eq!(
            r("? > 5, \"?\"").as_deref(),
            Some("((cellInput > 5) = true) or (cellInput in (\"?\"))")
        );
    }

    /// Found by the `any_entry_text` proptest (and kept in the `dmn_xml` fuzz seeds): a lone
    /// bracket sliced its inner text backwards and panicked.
    #[test]
    fn lone_bracket_is_not_an_interval() {
        for t in ["[", "]", "(", "[ ", " ]"] {
            assert!(interval(t.trim()).is_ok_and(|i| i.is_none()), "{t}");
            let _ = rewrite(t, "cellInput");
            let _ = rewrite_in(&format!("x in {t}"));
        }
    }

    #[test]
    fn in_unary_tests() {
        assert_eq!(rewrite_in("5 in < 10").as_deref(), Some("(5) < (10)"));
        assert_eq!(
            rewrite_in("x in (1, >= 10)").as_deref(),
            Some("((x) in (1)) or ((x) >= (10))")
        );
        assert_eq!(
            rewrite_in("x in [1..5)").as_deref(),
            Some("(x) >= (1) and (x) < (5)")
        );
        // Lists and other expressions stay with the FEEL parser.
        assert_eq!(rewrite_in("x in [1, 2]"), None);
        assert_eq!(rewrite_in("x in y"), None);
        assert_eq!(rewrite_in("\"a in b\""), None);
        assert_eq!(rewrite_in("some x in [1] satisfies x > 0"), None);
        // Non-ASCII text outside strings is split safely.
        assert_eq!(
            rewrite_in("Größe in < 10").as_deref(),
            Some("(Größe) < (10)")
        );
        assert_eq!(
            r("Größe, ü").as_deref(),
            Some("(cellInput in (Größe)) or (cellInput in (ü))")
        );
    }

    #[test]
    fn errors() {
        assert!(rewrite("<", "cellInput").is_err());
        assert!(rewrite("[..5]", "cellInput").is_err());
        assert!(rewrite("\"open", "cellInput").is_err());
        assert!(rewrite("\"a\",,\"b\"", "cellInput").is_err());
    }
}

//! Tokens and parser plumbing shared by the JUEL and FEEL parsers.
//!
//! Both parsers are written by hand: no maintained crate parses both JUEL (with Camunda's
//! `execution` object and method calls) and the FEEL subset Camunda 8 models use, and the two
//! grammars are small. One tokenizer serves both (the parsers reject symbols their language
//! lacks, with a hint), and [`Node`] tracks tree depth so that no input, however nested or
//! long, builds a tree deeper than [`MAX_DEPTH`].

use super::ExprError;
use super::ast::{Ast, MAX_DEPTH};

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An integer literal.
    Int(i64),
    /// A decimal literal, or an integer too large for i64 (FEEL only).
    Float(f64),
    /// A string literal, unescaped.
    Str(String),
    /// A name or keyword.
    Name(String),
    /// An operator or punctuation.
    Sym(&'static str),
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: usize,
}

/// How deeply the parsers may recurse (parentheses, brackets, prefix operators, arguments).
/// Lower than [`MAX_DEPTH`] because a parser level costs more stack than an evaluator level:
/// measured in debug builds, ~3 KB (JUEL) and ~4.5 KB (FEEL) per level against ~1.5 KB for
/// evaluation, and hosts evaluate on 2 MiB threads. Real models nest a handful of levels.
pub(crate) const MAX_NESTING: usize = 128;

/// Longest first, so `**` wins over `*` and `!=` over `!`.
const SYMBOLS: &[&str] = &[
    "**", "==", "!=", "<=", ">=", "&&", "||", "..", "<", ">", "!", "+", "-", "*", "/", "%", "?",
    ":", ".", "[", "]", "(", ")", ",", "{", "}", "=",
];

pub(crate) fn error(message: impl Into<String>) -> ExprError {
    ExprError {
        message: message.into(),
    }
}

/// Which language's lexical rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Juel,
    Feel,
}

/// Tokenize `src` from byte `start`. For JUEL inside a template, stops after the `}` that closes
/// the `${`, returning its end offset; for FEEL, reads to the end.
pub(crate) fn tokenize(
    src: &str,
    start: usize,
    dialect: Dialect,
) -> Result<(Vec<Token>, usize), ExprError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = start;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let pos = i;
        if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let (tok, end) = number(src, i, dialect)?;
            out.push(Token { tok, pos });
            i = end;
            continue;
        }
        if c == b'"' || (c == b'\'' && dialect == Dialect::Juel) {
            let (s, end) = string(src, i, dialect)?;
            out.push(Token {
                tok: Tok::Str(s),
                pos,
            });
            i = end;
            continue;
        }
        if c == b'`' && dialect == Dialect::Feel {
            let Some(len) = src[i + 1..].find('`') else {
                return Err(error(format!("unterminated `name` at offset {pos}")));
            };
            out.push(Token {
                tok: Tok::Name(src[i + 1..i + 1 + len].to_owned()),
                pos,
            });
            i += len + 2;
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or('\0');
        if ch.is_alphabetic() || ch == '_' || ch == '$' {
            let end = src[i..]
                .char_indices()
                .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .map_or(src.len(), |(n, _)| i + n);
            out.push(Token {
                tok: Tok::Name(src[i..end].to_owned()),
                pos,
            });
            i = end;
            continue;
        }
        let Some(sym) = SYMBOLS.iter().find(|s| src[i..].starts_with(**s)) else {
            return Err(error(format!(
                "unexpected character '{ch}' at offset {pos}"
            )));
        };
        i += sym.len();
        if *sym == "}" && dialect == Dialect::Juel {
            return Ok((out, i));
        }
        out.push(Token {
            tok: Tok::Sym(sym),
            pos,
        });
    }
    if dialect == Dialect::Juel {
        return Err(error("missing '}' at the end of the expression"));
    }
    Ok((out, i))
}

fn number(src: &str, start: usize, dialect: Dialect) -> Result<(Tok, usize), ExprError> {
    let bytes = src.as_bytes();
    let digits_from = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut i = digits_from(start);
    let mut float = false;
    // A '.' followed by a digit continues the number; `1..5` and `a.b` do not.
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        float = true;
        i = digits_from(i + 1);
    } else if dialect == Dialect::Juel
        && bytes.get(i) == Some(&b'.')
        && !bytes
            .get(i + 1)
            .is_some_and(|b| *b == b'.' || b.is_ascii_alphabetic())
    {
        // JUEL allows `1.` as a floating literal.
        float = true;
        i += 1;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            float = true;
            i = digits_from(j);
        }
    }
    let text = &src[start..i];
    if !float {
        if let Ok(n) = text.parse::<i64>() {
            return Ok((Tok::Int(n), i));
        }
        if dialect == Dialect::Juel {
            return Err(error(format!("integer literal {text} is too large")));
        }
    }
    text.parse::<f64>()
        .map(|f| (Tok::Float(f), i))
        .map_err(|_| error(format!("bad number '{text}'")))
}

fn string(src: &str, start: usize, dialect: Dialect) -> Result<(String, usize), ExprError> {
    let quote = src.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((n, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((out, start + 1 + n + 1)),
            '\\' => match chars.next() {
                Some((_, e)) if e == '\\' || e == '\'' || e == '"' => out.push(e),
                Some((_, 'n')) if dialect == Dialect::Feel => out.push('\n'),
                Some((_, 'r')) if dialect == Dialect::Feel => out.push('\r'),
                Some((_, 't')) if dialect == Dialect::Feel => out.push('\t'),
                Some((_, 'u')) if dialect == Dialect::Feel => {
                    let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                    let c = u32::from_str_radix(&hex, 16)
                        .ok()
                        .filter(|_| hex.len() == 4)
                        .and_then(char::from_u32)
                        .ok_or_else(|| error(format!("bad escape \\u{hex} in string")))?;
                    out.push(c);
                }
                // Other escapes stay as written, like EL.
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(error(format!(
        "unterminated string starting at offset {start}"
    )))
}

/// A tree being built, with its depth. Boxed, so parser frames stay small (see `Cursor`).
pub(crate) struct Node {
    pub ast: Box<Ast>,
    pub depth: usize,
}

impl Node {
    /// A leaf.
    pub fn leaf(ast: Ast) -> Node {
        Node {
            ast: Box::new(ast),
            depth: 1,
        }
    }

    /// A node over children whose deepest is `child_depth` deep.
    pub fn new(ast: Ast, child_depth: usize) -> Result<Node, ExprError> {
        let depth = child_depth + 1;
        if depth > MAX_DEPTH {
            return Err(error(format!(
                "expression is nested too deeply (more than {MAX_DEPTH} levels)"
            )));
        }
        Ok(Node {
            ast: Box::new(ast),
            depth,
        })
    }

    pub fn unary(op: super::ast::UnaryOp, x: Node) -> Result<Node, ExprError> {
        Node::new(Ast::Unary(op, x.ast), x.depth)
    }

    pub fn binary(op: super::ast::BinaryOp, l: Node, r: Node) -> Result<Node, ExprError> {
        let d = l.depth.max(r.depth);
        Node::new(Ast::Binary(op, l.ast, r.ast), d)
    }

    pub fn ternary(
        make: fn(Box<Ast>, Box<Ast>, Box<Ast>) -> Ast,
        a: Node,
        b: Node,
        c: Node,
    ) -> Result<Node, ExprError> {
        let d = a.depth.max(b.depth).max(c.depth);
        Node::new(make(a.ast, b.ast, c.ast), d)
    }

    /// Split a list of nodes into trees and their maximum depth.
    pub fn many(nodes: Vec<Node>) -> (Vec<Ast>, usize) {
        let depth = nodes.iter().map(|n| n.depth).max().unwrap_or(0);
        (nodes.into_iter().map(|n| *n.ast).collect(), depth)
    }
}

/// A cursor over tokens with a recursion guard.
pub(crate) struct Cursor<'a> {
    toks: &'a [Token],
    at: usize,
    /// Byte offset reported when the input runs out.
    end_pos: usize,
    nesting: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(toks: &'a [Token], end_pos: usize) -> Cursor<'a> {
        Cursor {
            toks,
            at: 0,
            end_pos,
            nesting: 0,
        }
    }

    pub fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.at).map(|t| &t.tok)
    }

    pub fn peek_at(&self, ahead: usize) -> Option<&'a Tok> {
        self.toks.get(self.at + ahead).map(|t| &t.tok)
    }

    pub fn pos(&self) -> usize {
        self.toks.get(self.at).map_or(self.end_pos, |t| t.pos)
    }

    pub fn next(&mut self) -> Option<&'a Tok> {
        let t = self.toks.get(self.at).map(|t| &t.tok);
        if t.is_some() {
            self.at += 1;
        }
        t
    }

    pub fn at_end(&self) -> bool {
        self.at >= self.toks.len()
    }

    /// Consume `sym` when it is next.
    pub fn eat_sym(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Consume the keyword `word` when it is next.
    pub fn eat_word(&mut self, word: &str) -> bool {
        if self.is_word(word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    pub fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(n)) if n == word)
    }

    pub fn expect_sym(&mut self, sym: &str) -> Result<(), ExprError> {
        if self.eat_sym(sym) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("expected '{sym}'")))
        }
    }

    /// An error naming what was found at the cursor.
    pub fn unexpected(&self, context: &str) -> ExprError {
        let found = match self.peek() {
            None => "the end of the expression".to_owned(),
            Some(t) => describe(t),
        };
        error(format!("{context}, found {found} at offset {}", self.pos()))
    }

    /// Enter one level of recursion; fails past [`MAX_NESTING`].
    pub fn enter(&mut self) -> Result<(), ExprError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(error(format!(
                "expression is nested too deeply (more than {MAX_NESTING} levels)"
            )));
        }
        Ok(())
    }

    pub fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }
}

pub(crate) fn describe(t: &Tok) -> String {
    match t {
        Tok::Int(n) => format!("number {n}"),
        Tok::Float(f) => format!("number {f}"),
        Tok::Str(s) => format!("string \"{s}\""),
        Tok::Name(n) => format!("'{n}'"),
        Tok::Sym(s) => format!("'{s}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str, d: Dialect) -> Result<Vec<Tok>, ExprError> {
        tokenize(src, 0, d).map(|(t, _)| t.into_iter().map(|t| t.tok).collect())
    }

    #[test]
    fn tokens() {
        use Tok::*;
        let rows: &[(&str, Dialect, Vec<Tok>)] = &[
            (
                "a.b}",
                Dialect::Juel,
                vec![Name("a".into()), Sym("."), Name("b".into())],
            ),
            (
                "1 1.5 .5 1e3 2.}",
                Dialect::Juel,
                vec![Int(1), Float(1.5), Float(0.5), Float(1000.0), Float(2.0)],
            ),
            (
                "'a\\'b' \"c\\\"d\"}",
                Dialect::Juel,
                vec![Str("a'b".into()), Str("c\"d".into())],
            ),
            ("'}'}", Dialect::Juel, vec![Str("}".into())]),
            (
                "a != !b}",
                Dialect::Juel,
                vec![Name("a".into()), Sym("!="), Sym("!"), Name("b".into())],
            ),
            (
                "x ** 2",
                Dialect::Feel,
                vec![Name("x".into()), Sym("**"), Int(2)],
            ),
            ("\"a\\nb\\u0041\"", Dialect::Feel, vec![Str("a\nbA".into())]),
            ("`a b`", Dialect::Feel, vec![Name("a b".into())]),
            ("1..5", Dialect::Feel, vec![Int(1), Sym(".."), Int(5)]),
            ("99999999999999999999", Dialect::Feel, vec![Float(1e20)]),
        ];
        for (src, d, want) in rows {
            assert_eq!(toks(src, *d).as_ref(), Ok(want), "{src}");
        }
        let bad: &[(&str, Dialect, &str)] = &[
            ("a", Dialect::Juel, "missing '}'"),
            ("'abc", Dialect::Juel, "unterminated string"),
            ("a # b}", Dialect::Juel, "unexpected character '#'"),
            ("99999999999999999999}", Dialect::Juel, "too large"),
            ("\"\\u00\"", Dialect::Feel, "bad escape"),
            ("`a", Dialect::Feel, "unterminated"),
        ];
        for (src, d, want) in bad {
            let e = toks(src, *d).expect_err(src);
            assert!(e.message.contains(want), "{src}: {}", e.message);
        }
    }
}

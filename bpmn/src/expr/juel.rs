//! JUEL front end: templates (`Hello ${name}!`) and the EL expression grammar Camunda 7
//! evaluates (JSR-245 as implemented by de.odysseus juel), parsed by precedence climbing.
//!
//! Precedence, loosest first: `?:`, `|| or`, `&& and`, `== != eq ne`, `< > <= >= lt gt le ge`,
//! `+ -`, `* / div % mod`, prefix `- ! not empty`, then postfix `.name`, `[expr]`, `.m(args)`.

use super::ExprError;
use super::ast::{Ast, BinaryOp, MAX_DEPTH, UnaryOp};
use super::syntax::{Cursor, Dialect, Node, Tok, error, tokenize};
use crate::value::Value;

/// Parse a text holding `${...}`/`#{...}` parts. A text that is exactly one `${...}` is that
/// expression (its value keeps its type); anything else is a [`Ast::Template`].
pub(crate) fn parse_template(src: &str) -> Result<Ast, ExprError> {
    let mut parts: Vec<Ast> = Vec::new();
    let mut text = String::new();
    let mut depth = 1;
    let bytes = src.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let opens =
            |j: usize| matches!(bytes.get(j), Some(b'$' | b'#')) && bytes.get(j + 1) == Some(&b'{');
        if c == b'\\' && opens(i + 1) {
            // `\${` is a literal `${`.
            text.push_str(&src[i + 1..i + 3]);
            i += 3;
            continue;
        }
        if opens(i) {
            if !text.is_empty() {
                parts.push(Ast::Literal(Value::String(std::mem::take(&mut text))));
            }
            let (toks, end) = tokenize(src, i + 2, Dialect::Juel).map_err(|e| at(src, i, e))?;
            if toks.is_empty() {
                return Err(error(format!("empty expression at offset {i}")));
            }
            let mut p = Parser {
                c: Cursor::new(&toks, end.saturating_sub(1)),
            };
            let node = p.expr().map_err(|e| at(src, i, e))?;
            if !p.c.at_end() {
                return Err(at(src, i, p.c.unexpected("expected an operator or '}'")));
            }
            depth = depth.max(node.depth + 1);
            parts.push(*node.ast);
            i = end;
            continue;
        }
        // Copy one whole character of literal text.
        let len = src[i..].chars().next().map_or(1, char::len_utf8);
        text.push_str(&src[i..i + len]);
        i += len;
    }
    if !text.is_empty() {
        parts.push(Ast::Literal(Value::String(text)));
    }
    // A template is one level above its parts.
    if depth > MAX_DEPTH {
        return Err(error(format!(
            "expression is nested too deeply (more than {MAX_DEPTH} levels)"
        )));
    }
    Ok(match parts.len() {
        0 => Ast::Literal(Value::String(String::new())),
        1 => parts.pop().unwrap_or(Ast::Literal(Value::Null)),
        _ => Ast::Template(parts),
    })
}

fn at(_src: &str, offset: usize, e: ExprError) -> ExprError {
    error(format!(
        "{} (in the expression starting at offset {offset})",
        e.message
    ))
}

/// Parse one bare JUEL expression (no `${}`), e.g. for tests and tools.
#[cfg(test)]
pub(crate) fn parse_expression(src: &str) -> Result<Ast, ExprError> {
    let with_close = format!("{src}}}");
    let (toks, end) = tokenize(&with_close, 0, Dialect::Juel)?;
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

/// Reserved words of EL that cannot be identifiers.
const RESERVED: &[&str] = &[
    "and",
    "or",
    "not",
    "eq",
    "ne",
    "lt",
    "gt",
    "le",
    "ge",
    "div",
    "mod",
    "empty",
    "true",
    "false",
    "null",
    "instanceof",
];

impl Parser<'_> {
    fn expr(&mut self) -> Result<Node, ExprError> {
        self.c.enter()?;
        let r = self.ternary();
        self.c.leave();
        r
    }

    fn ternary(&mut self) -> Result<Node, ExprError> {
        let cond = self.binary(0)?;
        if !self.c.eat_sym("?") {
            return Ok(cond);
        }
        let then = self.expr()?;
        self.c.expect_sym(":")?;
        let otherwise = self.expr()?;
        Node::ternary(Ast::Conditional, cond, then, otherwise)
    }

    /// The binary operator next in the input with its precedence level (0 loosest).
    fn peek_binary(&self) -> Option<(BinaryOp, usize)> {
        let op = match self.c.peek()? {
            Tok::Sym(s) => match *s {
                "||" => BinaryOp::Or,
                "&&" => BinaryOp::And,
                "==" => BinaryOp::Eq,
                "!=" => BinaryOp::Ne,
                "<" => BinaryOp::Lt,
                ">" => BinaryOp::Gt,
                "<=" => BinaryOp::Le,
                ">=" => BinaryOp::Ge,
                "+" => BinaryOp::Add,
                "-" => BinaryOp::Sub,
                "*" => BinaryOp::Mul,
                "/" => BinaryOp::Div,
                "%" => BinaryOp::Mod,
                _ => return None,
            },
            Tok::Name(n) => match n.as_str() {
                "or" => BinaryOp::Or,
                "and" => BinaryOp::And,
                "eq" => BinaryOp::Eq,
                "ne" => BinaryOp::Ne,
                "lt" => BinaryOp::Lt,
                "gt" => BinaryOp::Gt,
                "le" => BinaryOp::Le,
                "ge" => BinaryOp::Ge,
                "div" => BinaryOp::Div,
                "mod" => BinaryOp::Mod,
                _ => return None,
            },
            _ => return None,
        };
        let level = match op {
            BinaryOp::Or => 0,
            BinaryOp::And => 1,
            BinaryOp::Eq | BinaryOp::Ne => 2,
            BinaryOp::Lt | BinaryOp::Gt | BinaryOp::Le | BinaryOp::Ge => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod | BinaryOp::Pow => 5,
        };
        Some((op, level))
    }

    /// Precedence climbing: all operators here are left-associative.
    fn binary(&mut self, min_level: usize) -> Result<Node, ExprError> {
        let mut lhs = self.unary()?;
        while let Some((op, level)) = self.peek_binary() {
            if level < min_level {
                break;
            }
            self.c.next();
            self.c.enter()?;
            let rhs = self.binary(level + 1);
            self.c.leave();
            lhs = Node::binary(op, lhs, rhs?)?;
        }
        if matches!(self.c.peek(), Some(Tok::Sym("="))) {
            return Err(self
                .c
                .unexpected("compare with '==' (assignment is not supported)"));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        let op = if self.c.eat_sym("-") {
            Some(UnaryOp::Neg)
        } else if self.c.eat_sym("!") || self.c.eat_word("not") {
            Some(UnaryOp::Not)
        } else if self.c.eat_word("empty") {
            Some(UnaryOp::Empty)
        } else {
            None
        };
        match op {
            Some(op) => {
                self.c.enter()?;
                let x = self.unary();
                self.c.leave();
                Node::unary(op, x?)
            }
            None => self.postfix(),
        }
    }

    // The functions on the recursion path (expr → ternary → binary → unary → postfix →
    // primary → expr) keep few locals and build error messages in helpers: debug builds
    // reserve stack for every temporary, and nesting may go MAX_DEPTH levels deep.
    fn postfix(&mut self) -> Result<Node, ExprError> {
        let mut node = self.primary()?;
        loop {
            if self.c.eat_sym(".") {
                node = self.dot(node)?;
            } else if self.c.eat_sym("[") {
                node = self.bracket(node)?;
            } else if matches!(self.c.peek(), Some(Tok::Sym("("))) {
                node = self.function(node)?;
            } else {
                return Ok(node);
            }
        }
    }

    /// A function call `f(args)`: Camunda Spin's `S(json)` / `JSON(json)`; the clock
    /// functions Camunda offers (`now()`, `dateTime()`) are refused, since time must come from
    /// the engine.
    fn function(&mut self, node: Node) -> Result<Node, ExprError> {
        let name = match node.ast.as_ref() {
            Ast::Ident(n) => n.clone(),
            _ => return Err(self.c.unexpected("only a function name can be called")),
        };
        match name.as_str() {
            "S" | "JSON" => {}
            "now" | "dateTime" => {
                return Err(error(format!(
                    "{name}() is not allowed: an expression must not read the clock \
                     (pass the time in a variable, or use a timer event)"
                )));
            }
            _ => {
                return Err(self.c.unexpected(&format!(
                    "unknown function '{name}' (JUEL supports S() and JSON(); \
                     call a method like a.size() instead)"
                )));
            }
        }
        self.c.expect_sym("(")?;
        let args = self.args()?;
        if args.len() != 1 {
            return Err(error(format!("function '{name}' takes 1 argument(s)")));
        }
        let (args, d) = Node::many(args);
        Node::new(Ast::Call(name, args), d)
    }

    /// `.name` or `.name(args)` after `node`.
    fn dot(&mut self, node: Node) -> Result<Node, ExprError> {
        let name = match self.c.next() {
            Some(Tok::Name(n)) => n.clone(),
            _ => {
                return Err(error(format!(
                    "expected a property name after '.' at offset {}",
                    self.c.pos()
                )));
            }
        };
        if self.c.eat_sym("(") {
            let args = self.args()?;
            let (args, d) = Node::many(args);
            let depth = d.max(node.depth);
            Node::new(Ast::Method(node.ast, name, args), depth)
        } else {
            let depth = node.depth;
            Node::new(Ast::Property(node.ast, name), depth)
        }
    }

    /// `[key]` after `node`.
    fn bracket(&mut self, node: Node) -> Result<Node, ExprError> {
        let key = self.expr()?;
        self.c.expect_sym("]")?;
        let depth = node.depth.max(key.depth);
        Node::new(Ast::Index(node.ast, key.ast), depth)
    }

    /// Arguments after an opening `(`, through the closing `)`.
    fn args(&mut self) -> Result<Vec<Node>, ExprError> {
        let mut args = Vec::new();
        if self.c.eat_sym(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.c.eat_sym(")") {
                return Ok(args);
            }
            if !self.c.eat_sym(",") {
                return Err(self.c.unexpected("expected ',' or ')' in the arguments"));
            }
        }
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        if self.c.eat_sym("(") {
            let inner = self.expr()?;
            self.c.expect_sym(")")?;
            return Ok(inner);
        }
        self.atom()
    }

    /// A literal or a name.
    fn atom(&mut self) -> Result<Node, ExprError> {
        let pos = self.c.pos();
        let Some(tok) = self.c.next() else {
            return Err(self.c.unexpected("expected a value"));
        };
        let ast = match tok {
            // EL integer literals are Long (JSR-245 1.3; juel's AstNumber).
            Tok::Int(n) => Ast::Literal(Value::Long(*n)),
            Tok::Float(f) => Ast::Literal(Value::Double(*f)),
            Tok::Str(s) => Ast::Literal(Value::String(s.clone())),
            Tok::Name(n) => match n.as_str() {
                "true" => Ast::Literal(Value::Boolean(true)),
                "false" => Ast::Literal(Value::Boolean(false)),
                "null" => Ast::Literal(Value::Null),
                word if RESERVED.contains(&word) => {
                    return Err(error(format!(
                        "'{word}' is a reserved word and cannot start a value (offset {pos})"
                    )));
                }
                _ => Ast::Ident(n.clone()),
            },
            Tok::Sym("=") => {
                return Err(error(format!(
                    "unexpected '=' at offset {pos}; compare with '==' (assignment is not supported)"
                )));
            }
            Tok::Sym(s) => {
                return Err(error(format!(
                    "expected a value, found '{s}' at offset {pos}"
                )));
            }
        };
        Ok(Node::leaf(ast))
    }
}

/// Integers are Integer when they fit 32 bits, Long otherwise.
pub(crate) fn int_value(n: i64) -> Value {
    match i32::try_from(n) {
        Ok(small) => Value::Integer(small),
        Err(_) => Value::Long(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(v: impl Into<Value>) -> Ast {
        // EL integer literals are Long.
        match v.into() {
            Value::Integer(n) => Ast::Literal(Value::Long(n.into())),
            other => Ast::Literal(other),
        }
    }
    fn id(n: &str) -> Ast {
        Ast::Ident(n.into())
    }
    fn bin(op: BinaryOp, l: Ast, r: Ast) -> Ast {
        Ast::Binary(op, Box::new(l), Box::new(r))
    }

    #[test]
    fn precedence_and_shapes() {
        use BinaryOp::*;
        let rows: Vec<(&str, Ast)> = vec![
            ("1 + 2 * 3", bin(Add, lit(1), bin(Mul, lit(2), lit(3)))),
            ("1 - 2 - 3", bin(Sub, bin(Sub, lit(1), lit(2)), lit(3))),
            (
                "a > 1 && b or c",
                bin(Or, bin(And, bin(Gt, id("a"), lit(1)), id("b")), id("c")),
            ),
            ("a == b < c", bin(Eq, id("a"), bin(Lt, id("b"), id("c")))),
            ("a eq b", bin(Eq, id("a"), id("b"))),
            (
                "10 div 3 mod 2",
                bin(Mod, bin(Div, lit(10), lit(3)), lit(2)),
            ),
            (
                "not empty x",
                Ast::Unary(
                    UnaryOp::Not,
                    Box::new(Ast::Unary(UnaryOp::Empty, Box::new(id("x")))),
                ),
            ),
            (
                "a ? b : c ? d : e",
                Ast::Conditional(
                    Box::new(id("a")),
                    Box::new(id("b")),
                    Box::new(Ast::Conditional(
                        Box::new(id("c")),
                        Box::new(id("d")),
                        Box::new(id("e")),
                    )),
                ),
            ),
            (
                "a.b['c'][0]",
                Ast::Index(
                    Box::new(Ast::Index(
                        Box::new(Ast::Property(Box::new(id("a")), "b".into())),
                        Box::new(lit("c")),
                    )),
                    Box::new(lit(0)),
                ),
            ),
            (
                "execution.getVariable('x')",
                Ast::Method(
                    Box::new(id("execution")),
                    "getVariable".into(),
                    vec![lit("x")],
                ),
            ),
            ("(1 + 2) * 3", bin(Mul, bin(Add, lit(1), lit(2)), lit(3))),
            ("5000000000", lit(5_000_000_000i64)),
            ("5", lit(5i64)),
            ("-x", Ast::Unary(UnaryOp::Neg, Box::new(id("x")))),
        ];
        for (src, want) in rows {
            assert_eq!(parse_expression(src), Ok(want), "{src}");
        }
    }

    #[test]
    fn syntax_errors() {
        let rows: &[(&str, &str)] = &[
            ("", "expected a value"),
            ("1 +", "expected a value"),
            ("a b", "expected an operator"),
            ("(a", "expected ')'"),
            ("a ? b", "expected ':'"),
            ("a.", "expected a property name"),
            ("a = 1", "compare with '=='"),
            ("f(1)", "unknown function 'f'"),
            ("now()", "must not read the clock"),
            ("a.b(1)(2)", "only a function name can be called"),
            ("S(1, 2)", "takes 1 argument"),
            ("a.m(1,", "expected a value"),
            ("a.m(1 2)", "expected ',' or ')'"),
            ("and", "reserved word"),
            ("[1]", "expected a value, found '['"),
        ];
        for (src, want) in rows {
            let e = parse_expression(src).expect_err(src);
            assert!(e.message.contains(want), "{src}: {}", e.message);
        }
    }

    #[test]
    fn templates() {
        let rows: Vec<(&str, Ast)> = vec![
            ("${x}", id("x")),
            ("#{x}", id("x")),
            (
                "Hello ${name}!",
                Ast::Template(vec![lit("Hello "), id("name"), lit("!")]),
            ),
            ("${a}${b}", Ast::Template(vec![id("a"), id("b")])),
            ("cost: \\${x}", lit("cost: ${x}")),
            ("${'}'}", lit("}")),
            (
                "é ${x} ü",
                Ast::Template(vec![lit("é "), id("x"), lit(" ü")]),
            ),
        ];
        for (src, want) in rows {
            assert_eq!(parse_template(src), Ok(want), "{src}");
        }
        let bad: &[(&str, &str)] = &[
            ("${}", "empty expression"),
            ("${x", "missing '}'"),
            ("a ${x y} b", "expected an operator or '}'"),
        ];
        for (src, want) in bad {
            let e = parse_template(src).expect_err(src);
            assert!(e.message.contains(want), "{src}: {}", e.message);
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("${{{}x{}}}", "(".repeat(300), ")".repeat(300));
        assert!(parse_template(&deep).is_err());
        let long = format!("${{{}}}", vec!["1"; 1000].join(" + "));
        assert!(
            parse_template(&long)
                .expect_err("deep")
                .message
                .contains("too deeply")
        );
        let nots = format!("${{{}x}}", "!".repeat(1000));
        assert!(parse_template(&nots).is_err());
        let ok = format!("${{{}}}", vec!["1"; 100].join(" + "));
        assert!(parse_template(&ok).is_ok());
    }
}

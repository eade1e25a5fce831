//! JUEL front end.
use super::{Ast, ExprError};

pub(crate) fn parse_template(src: &str) -> Result<Ast, ExprError> {
    let inner = src.trim().trim_start_matches("${").trim_end_matches('}');
    Ok(Ast::Ident(inner.trim().to_owned()))
}

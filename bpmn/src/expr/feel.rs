//! FEEL front end.
use super::{Ast, ExprError};

pub(crate) fn parse(src: &str) -> Result<Ast, ExprError> {
    Ok(Ast::Ident(src.trim().to_owned()))
}

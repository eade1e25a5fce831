//! Query parameters of Camunda's list and count endpoints, for both forms: `GET` query strings
//! and `POST` JSON bodies take the same filters, so both are read into one [`QueryInput`].
//!
//! Owns pagination (`firstResult`, `maxResults`), sorting (`sortBy` + `sortOrder` on GET,
//! `sorting: [{sortBy, sortOrder}]` in bodies) with Camunda's exact 400 messages, comma lists,
//! booleans, dates, `like` patterns and the `variables=name_op_value` filters. Unknown
//! parameters are ignored. Filtering itself happens in memory in each resource module.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use baton_bpmn::Value;
use serde_json::Value as J;

use super::date;
use super::error::{ApiError, ApiResult};
use crate::engine::Accept;

/// Query parameters as given (`GET` query string, or a `POST` body merged over the query string).
#[derive(Debug, Clone, Default)]
pub struct QueryInput {
    fields: BTreeMap<String, J>,
}

/// Extractor: the request's query string as a [`QueryInput`].
#[derive(Debug, Clone, Default)]
pub struct Params(pub QueryInput);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) =
            Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map_err(|e| {
                ApiError::invalid(format!("Cannot parse the query string: {}", e.body_text()))
            })?;
        Ok(Params(QueryInput::from_pairs(pairs)))
    }
}

/// Extractor: a query as Camunda takes it on both methods of a list or count resource: the
/// query string on GET, the JSON body (with `firstResult`/`maxResults` still from the query
/// string) on POST. One handler serves both routes.
#[derive(Debug, Clone, Default)]
pub struct Search(pub QueryInput);

impl<S> axum::extract::FromRequest<S> for Search
where
    S: Send + Sync,
    super::ApiState: axum::extract::FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Params(params) = Params::from_request_parts(&mut parts, state).await?;
        if parts.method != axum::http::Method::POST {
            return Ok(Search(params));
        }
        let request = axum::extract::Request::from_parts(parts, body);
        let super::json::Json(body) =
            <super::json::Json<J> as axum::extract::FromRequest<S>>::from_request(request, state)
                .await?;
        Ok(Search(QueryInput::from_body(&body, &params)))
    }
}

/// One variable filter (`name_op_value`, or `{name, operator, value}` in a body).
#[derive(Debug, Clone, PartialEq)]
pub struct VariableFilter {
    /// Variable name.
    pub name: String,
    /// Operator.
    pub op: Op,
    /// The operand: a String (or Date when it parses) from GET, typed from JSON bodies.
    pub value: Value,
}

/// Comparison operators of variable filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `eq`.
    Eq,
    /// `neq`.
    Neq,
    /// `gt`.
    Gt,
    /// `gteq`.
    Gteq,
    /// `lt`.
    Lt,
    /// `lteq`.
    Lteq,
    /// `like`.
    Like,
    /// `notLike`.
    NotLike,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "gt" => Op::Gt,
            "gteq" => Op::Gteq,
            "lt" => Op::Lt,
            "lteq" => Op::Lteq,
            "like" => Op::Like,
            "notLike" => Op::NotLike,
            _ => return None,
        })
    }
}

impl VariableFilter {
    /// Whether `candidate` (the variable's value, `None` when it does not exist) passes.
    pub fn matches(&self, candidate: Option<&Value>, ignore_case_values: bool) -> bool {
        let Some(v) = candidate else { return false };
        let ord = compare_values(v, &self.value, ignore_case_values);
        match self.op {
            Op::Eq => ord == Some(Ordering::Equal),
            Op::Neq => ord.is_some_and(|o| o != Ordering::Equal),
            Op::Gt => ord == Some(Ordering::Greater),
            Op::Gteq => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
            Op::Lt => ord == Some(Ordering::Less),
            Op::Lteq => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
            Op::Like | Op::NotLike => {
                let hit = match (v, &self.value) {
                    (Value::String(s), Value::String(p)) => like_case(s, p, ignore_case_values),
                    _ => false,
                };
                (self.op == Op::Like) == hit
            }
        }
    }
}

/// Compare two values the way Camunda's typed query does: same-kind values only (numbers with
/// numbers, strings with strings, dates with dates, booleans with booleans).
fn compare_values(a: &Value, b: &Value, ignore_case: bool) -> Option<Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(if ignore_case {
            x.to_lowercase().cmp(&y.to_lowercase())
        } else {
            x.cmp(y)
        }),
        (Value::Boolean(x), Value::Boolean(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Json(x), Value::Json(y)) => (x == y).then_some(Ordering::Equal),
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) if !matches!(a, Value::Json(_)) => x.partial_cmp(&y),
            _ => None,
        },
    }
}

pub use crate::like::{LikePattern, like};

fn like_case(value: &str, pattern: &str, ignore_case: bool) -> bool {
    crate::like::LikePattern::new(pattern, ignore_case).matches(value)
}

/// A validated sort: the `sortBy` name and whether it is descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The `sortBy` value (one of the resource's allowed names).
    pub by: String,
    /// `sortOrder=desc`.
    pub desc: bool,
}

fn cannot_set(k: &str, v: &J) -> ApiError {
    let shown = match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    };
    ApiError::invalid(format!(
        "Cannot set query parameter '{k}' to value '{shown}'"
    ))
}

impl QueryInput {
    /// From query-string pairs (the first occurrence of a name wins).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> QueryInput {
        let mut fields = BTreeMap::new();
        for (k, v) in pairs {
            fields.entry(k).or_insert(J::String(v));
        }
        QueryInput { fields }
    }

    /// From a JSON body (non-objects give an empty input), with `firstResult`/`maxResults`
    /// taken from the query string as Camunda does for POST queries.
    pub fn from_body(body: &J, query: &QueryInput) -> QueryInput {
        let mut fields: BTreeMap<String, J> = body
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for k in ["firstResult", "maxResults", "deserializeValues"] {
            if let Some(v) = query.fields.get(k) {
                fields.insert(k.to_owned(), v.clone());
            }
        }
        QueryInput { fields }
    }

    /// The names of the parameters given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// The raw field.
    pub fn raw(&self, k: &str) -> Option<&J> {
        self.fields.get(k)
    }

    /// A string parameter.
    pub fn str(&self, k: &str) -> Option<String> {
        match self.fields.get(k)? {
            J::String(s) => Some(s.clone()),
            J::Number(n) => Some(n.to_string()),
            J::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A comma list (GET) or an array (body).
    pub fn list(&self, k: &str) -> Option<Vec<String>> {
        match self.fields.get(k)? {
            J::String(s) => Some(
                s.split(',')
                    .map(str::to_owned)
                    .filter(|s| !s.is_empty())
                    .collect(),
            ),
            J::Array(a) => Some(
                a.iter()
                    .filter_map(|v| match v {
                        J::String(s) => Some(s.clone()),
                        J::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    /// A boolean (`true`/`false`).
    pub fn bool(&self, k: &str) -> Result<Option<bool>, ApiError> {
        match self.fields.get(k) {
            None => Ok(None),
            Some(J::Bool(b)) => Ok(Some(*b)),
            Some(v @ J::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(cannot_set(k, v)),
            },
            Some(v) => Err(cannot_set(k, v)),
        }
    }

    /// A boolean flag that only matters when true.
    pub fn flag(&self, k: &str) -> Result<bool, ApiError> {
        Ok(self.bool(k)?.unwrap_or(false))
    }

    /// An integer.
    pub fn int(&self, k: &str) -> Result<Option<i64>, ApiError> {
        match self.fields.get(k) {
            None => Ok(None),
            Some(J::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| cannot_set(k, &J::Number(n.clone()))),
            Some(v @ J::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| cannot_set(k, v)),
            Some(v) => Err(cannot_set(k, v)),
        }
    }

    /// A date.
    pub fn date(&self, k: &str) -> Result<Option<i64>, ApiError> {
        match self.fields.get(k) {
            None => Ok(None),
            Some(v @ J::String(s)) => date::parse(s).map(Some).ok_or_else(|| cannot_set(k, v)),
            Some(v) => Err(cannot_set(k, v)),
        }
    }

    /// `firstResult` and `maxResults` (defaults 0 and unlimited; negatives are 400).
    pub fn pagination(&self) -> Result<(usize, usize), ApiError> {
        let first = self.int("firstResult")?.unwrap_or(0);
        let max = self.int("maxResults")?;
        let first =
            usize::try_from(first).map_err(|_| cannot_set("firstResult", &J::from(first)))?;
        let max = match max {
            None => UNBOUNDED,
            Some(m) => usize::try_from(m).map_err(|_| cannot_set("maxResults", &J::from(m)))?,
        };
        let cap = super::guard::max_results();
        if max != UNBOUNDED && max > cap {
            return Err(ApiError::bad_user_request(format!(
                "Max results limit of {cap} exceeded!"
            )));
        }
        Ok((first, max))
    }

    /// A `*Like` parameter, compiled once for the whole query (Camunda's `%`, `_`, `\`).
    pub fn like(&self, name: &str) -> Option<LikePattern> {
        self.str(name).map(|p| LikePattern::new(&p, false))
    }

    /// The sort order(s), validated against the resource's allowed `sortBy` names.
    pub fn sorting(&self, allowed: &[&str]) -> Result<Vec<Sort>, ApiError> {
        if let Some(J::Array(entries)) = self.fields.get("sorting") {
            let mut out = Vec::new();
            for e in entries {
                let by = e.get("sortBy").and_then(J::as_str);
                let order = e.get("sortOrder").and_then(J::as_str);
                out.push(validate_sort(by, order, allowed)?);
            }
            return Ok(out);
        }
        let by = self.str("sortBy");
        let order = self.str("sortOrder");
        if by.is_none() && order.is_none() {
            return Ok(Vec::new());
        }
        Ok(vec![validate_sort(
            by.as_deref(),
            order.as_deref(),
            allowed,
        )?])
    }

    /// Variable filters from `name_op_value,...` (GET) or `[{name, operator, value}]` (body).
    pub fn variables(&self, k: &str) -> Result<Vec<VariableFilter>, ApiError> {
        match self.fields.get(k) {
            None | Some(J::Null) => Ok(Vec::new()),
            Some(J::String(s)) => parse_variable_list(s),
            Some(J::Array(a)) => a
                .iter()
                .map(|e| {
                    let name = e.get("name").and_then(J::as_str).ok_or_else(|| {
                        ApiError::invalid(
                            "variable query parameter has to have format KEY_OPERATOR_VALUE.",
                        )
                    })?;
                    let op_s = e.get("operator").and_then(J::as_str).unwrap_or("eq");
                    let op = Op::parse(op_s).ok_or_else(|| {
                        ApiError::invalid(format!("Invalid variable comparator specified: {op_s}"))
                    })?;
                    let raw = e.get("value").unwrap_or(&J::Null);
                    let value = match raw {
                        J::String(s) => date::parse(s)
                            .map(Value::Date)
                            .unwrap_or_else(|| Value::String(s.clone())),
                        other => Value::from_json(other),
                    };
                    Ok(VariableFilter {
                        name: name.to_owned(),
                        op,
                        value,
                    })
                })
                .collect(),
            Some(v) => Err(cannot_set(k, v)),
        }
    }

    /// `deserializeValues` (default true on variable endpoints).
    pub fn deserialize_values(&self) -> Result<bool, ApiError> {
        Ok(self
            .bool("deserializeValues")?
            .or(self.bool("deserializeValue")?)
            .unwrap_or(true))
    }
}

fn validate_sort(
    by: Option<&str>,
    order: Option<&str>,
    allowed: &[&str],
) -> Result<Sort, ApiError> {
    let (Some(by), Some(order)) = (by, order) else {
        return Err(ApiError::invalid(
            "Only a single sorting parameter specified. sortBy and sortOrder required",
        ));
    };
    if !allowed.contains(&by) {
        return Err(ApiError::invalid(format!(
            "sortBy parameter has invalid value: {by}"
        )));
    }
    let desc = match order {
        "asc" => false,
        "desc" => true,
        other => {
            return Err(ApiError::invalid(format!(
                "sortOrder parameter has invalid value: {other}"
            )));
        }
    };
    Ok(Sort {
        by: by.to_owned(),
        desc,
    })
}

/// Parse `a_eq_1,b_like_x%` (always String operands, or Date when the text parses as one).
pub fn parse_variable_list(s: &str) -> Result<Vec<VariableFilter>, ApiError> {
    s.split(',')
        .filter(|e| !e.is_empty())
        .map(|expr| {
            let parts: Vec<&str> = expr.split('_').collect();
            if parts.len() != 3 {
                return Err(ApiError::invalid(
                    "variable query parameter has to have format KEY_OPERATOR_VALUE.",
                ));
            }
            let op = Op::parse(parts[1]).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid variable comparator specified: {}",
                    parts[1]
                ))
            })?;
            let value = date::parse(parts[2])
                .map(Value::Date)
                .unwrap_or_else(|| Value::String(parts[2].to_owned()));
            Ok(VariableFilter {
                name: parts[0].to_owned(),
                op,
                value,
            })
        })
        .collect()
}

/// Sort `items` by the validated sorts using `cmp(item_a, item_b, sortBy)`, then paginate.
pub fn sort_and_page<T>(
    mut items: Vec<T>,
    sorts: &[Sort],
    page: (usize, usize),
    cmp: impl Fn(&T, &T, &str) -> Ordering,
) -> ApiResult<Vec<T>> {
    super::guard::check()?;
    let (first, max) = page;
    // Camunda's `queryMaxResultsLimit`: a list without maxResults may not be larger than the
    // cap (a client that wants more pages through it).
    if max == UNBOUNDED && items.len().saturating_sub(first) > super::guard::max_results() {
        return Err(ApiError::bad_user_request(
            "An unbound number of results is forbidden!",
        ));
    }
    if !sorts.is_empty() {
        items.sort_by(|a, b| {
            for s in sorts {
                let o = cmp(a, b, &s.by);
                let o = if s.desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    Ok(items.into_iter().skip(first).take(max).collect())
}

/// `maxResults` not given.
const UNBOUNDED: usize = usize::MAX;

/// The rows of a list query. Without a sort order the store reads in its order (record id,
/// which is creation order) and cuts the page while reading, so a small page costs a small
/// read; with one, every match is read, sorted, then paged. `read(skip, limit)` asks the
/// engine's typed query.
pub fn list_rows<T>(
    sorts: &[Sort],
    (first, max): (usize, usize),
    read: impl FnOnce(usize, usize) -> ApiResult<Vec<T>>,
    cmp: impl Fn(&T, &T, &str) -> Ordering,
) -> ApiResult<Vec<T>> {
    if !sorts.is_empty() {
        let rows = read(0, UNBOUNDED)?;
        return sort_and_page(rows, sorts, (first, max), cmp);
    }
    let cap = super::guard::max_results();
    let limit = if max == UNBOUNDED {
        cap.saturating_add(1)
    } else {
        max
    };
    let rows = read(first, limit)?;
    super::guard::check()?;
    if max == UNBOUNDED && rows.len() > cap {
        return Err(ApiError::bad_user_request(
            "An unbound number of results is forbidden!",
        ));
    }
    Ok(rows)
}

/// A filter predicate as the store's verdict on one candidate: a cancelled request stops the
/// read.
pub fn verdict<T>(matches: impl Fn(&T) -> bool) -> impl FnMut(&T) -> Accept {
    move |record| {
        if !not_cancelled(record) {
            Accept::Abort
        } else if matches(record) {
            Accept::Take
        } else {
            Accept::Skip
        }
    }
}

/// Whether only these parameters (and paging and sorting) are given: then an index alone
/// answers a count.
pub fn only_indexed(q: &QueryInput, indexed: &[&str]) -> bool {
    // A user whose rows are filtered by authorizations: the kept counts would count rows
    // the user may not see.
    if super::authz::restricted() {
        return false;
    }
    const NEUTRAL: &[&str] = &[
        "firstResult",
        "maxResults",
        "sortBy",
        "sortOrder",
        "sorting",
    ];
    q.names()
        .all(|n| indexed.contains(&n) || NEUTRAL.contains(&n))
}

/// The records of a query, stopping early once the request is cancelled (client gone, time
/// limit passed): every filter loop over stored records goes through it, so none holds a core
/// for a response nobody will read. What a cancelled request computes is never sent.
pub fn live<T>(items: Vec<T>) -> impl Iterator<Item = T> {
    items.into_iter().take_while(not_cancelled)
}

/// For `take_while` in a filter chain: `false` once the request is cancelled (see [`live`]).
pub fn not_cancelled<T>(_: &T) -> bool {
    super::guard::check().is_ok()
}

/// Whether an optional filter passes (`None` filter = pass).
pub fn eq_opt(filter: &Option<String>, value: Option<&str>) -> bool {
    filter.as_deref().is_none_or(|f| value == Some(f))
}

/// Whether an optional list filter passes.
pub fn in_opt(filter: &Option<Vec<String>>, value: Option<&str>) -> bool {
    filter
        .as_ref()
        .is_none_or(|l| value.is_some_and(|v| l.iter().any(|x| x == v)))
}

/// Whether `vars` pass every variable filter; with `names_ignore_case` a filter's name matches
/// a variable's name regardless of ASCII case (Camunda's `variableNamesIgnoreCase`).
pub fn variables_match(
    filters: &[VariableFilter],
    vars: &baton_bpmn::Variables,
    names_ignore_case: bool,
    values_ignore_case: bool,
) -> bool {
    filters.iter().all(|f| {
        let v = if names_ignore_case {
            vars.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&f.name))
                .map(|(_, v)| v)
        } else {
            vars.get(&f.name)
        };
        f.matches(v, values_ignore_case)
    })
}

/// Whether an optional like filter passes (`None` filter = pass).
pub fn like_opt(filter: &Option<LikePattern>, value: Option<&str>) -> bool {
    filter
        .as_ref()
        .is_none_or(|p| value.is_some_and(|v| p.matches(v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> QueryInput {
        QueryInput::from_pairs(
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn sorting_messages() {
        let allowed = ["id", "name"];
        let e = q(&[("sortBy", "id")]).sorting(&allowed).expect_err("half");
        assert_eq!(
            e.message(),
            "Only a single sorting parameter specified. sortBy and sortOrder required"
        );
        let e = q(&[("sortOrder", "asc")])
            .sorting(&allowed)
            .expect_err("half");
        assert_eq!(
            e.message(),
            "Only a single sorting parameter specified. sortBy and sortOrder required"
        );
        let e = q(&[("sortBy", "x"), ("sortOrder", "asc")])
            .sorting(&allowed)
            .expect_err("bad by");
        assert_eq!(e.message(), "sortBy parameter has invalid value: x");
        let e = q(&[("sortBy", "id"), ("sortOrder", "up")])
            .sorting(&allowed)
            .expect_err("bad order");
        assert_eq!(e.message(), "sortOrder parameter has invalid value: up");
        let s = q(&[("sortBy", "name"), ("sortOrder", "desc")])
            .sorting(&allowed)
            .expect("ok");
        assert_eq!(
            s,
            vec![Sort {
                by: "name".into(),
                desc: true
            }]
        );
        let body = QueryInput::from_body(
            &json!({"sorting":[{"sortBy":"id","sortOrder":"asc"}]}),
            &q(&[]),
        );
        assert_eq!(body.sorting(&allowed).expect("ok").len(), 1);
    }

    #[test]
    fn conversions() {
        let input = q(&[
            ("a", "true"),
            ("b", "nope"),
            ("n", "12"),
            ("l", "x,y"),
            ("d", "2016-01-25T13:33:42.165+0000"),
        ]);
        assert_eq!(input.bool("a").expect("a"), Some(true));
        assert_eq!(
            input.bool("b").expect_err("b").message(),
            "Cannot set query parameter 'b' to value 'nope'"
        );
        assert_eq!(input.int("n").expect("n"), Some(12));
        assert!(input.int("b").is_err());
        assert_eq!(input.list("l"), Some(vec!["x".to_owned(), "y".to_owned()]));
        assert_eq!(input.date("d").expect("d"), Some(1_453_728_822_165));
        assert!(input.date("b").is_err());
        assert_eq!(
            q(&[("maxResults", "5"), ("firstResult", "2")])
                .pagination()
                .expect("p"),
            (2, 5)
        );
        assert!(q(&[("maxResults", "-1")]).pagination().is_err());
    }

    #[test]
    fn variable_filters() {
        let f = parse_variable_list("a_eq_1,b_like_x%").expect("parse");
        assert_eq!(f.len(), 2);
        assert!(f[0].matches(Some(&Value::String("1".into())), false));
        assert!(
            !f[0].matches(Some(&Value::Integer(1)), false),
            "GET values are strings"
        );
        assert!(f[1].matches(Some(&Value::String("xyz".into())), false));
        let e = parse_variable_list("a_eq").expect_err("two parts");
        assert_eq!(
            e.message(),
            "variable query parameter has to have format KEY_OPERATOR_VALUE."
        );
        assert!(parse_variable_list("a_b_eq_c").is_err());
        assert!(parse_variable_list("a_xx_1").is_err());
        let body = QueryInput::from_body(
            &json!({"variables":[{"name":"n","operator":"gt","value":5}]}),
            &q(&[]),
        );
        let f = body.variables("variables").expect("body");
        assert!(f[0].matches(Some(&Value::Integer(6)), false));
        assert!(!f[0].matches(Some(&Value::Integer(5)), false));
        assert!(!f[0].matches(None, false));
    }

    #[test]
    fn sort_then_page() {
        let v = sort_and_page(
            vec![3, 1, 2],
            &[Sort {
                by: "n".into(),
                desc: true,
            }],
            (1, 1),
            |a, b, _| a.cmp(b),
        )
        .expect("within the cap");
        assert_eq!(v, vec![2]);
    }
}

//! DMN XML -> [`DecisionDefinitions`], on the BPMN reader's XML layer (same well-formedness
//! rules, depth cap and line:column positions). Elements are matched by local name, so DMN
//! 1.1, 1.2 and 1.3 namespaces all read; everything wrong is reported, not only the first.

use std::collections::HashSet;

use super::{
    Aggregation, Decision, DecisionDefinitions, DecisionLogic, DecisionTable, HitPolicy, Input,
    Output, Rule, TypeRef, unary,
};
use crate::expr::Expression;
use crate::model::Position;
use crate::parse::reader::xml::{El, Ns, parse_document};
use crate::parse::{ParseError, Problem, Severity};

/// The default name of the input value inside input entries (Camunda's `cellInput`).
const CELL_INPUT: &str = "cellInput";

/// Parse and validate a DMN document.
pub fn parse(xml: &[u8]) -> Result<DecisionDefinitions, ParseError> {
    let root = parse_document(xml).map_err(|e| ParseError {
        problems: vec![problem(e.message, None, e.pos)],
    })?;
    let mut reader = Reader::default();
    let definitions = reader.definitions(&root);
    if reader.problems.is_empty() {
        Ok(definitions)
    } else {
        Err(ParseError {
            problems: reader.problems,
        })
    }
}

/// A document read leniently: the decisions that parsed cleanly, and the rest with why.
#[derive(Debug, Clone)]
pub struct Partial {
    /// The definitions, holding only the decisions without problems.
    pub definitions: DecisionDefinitions,
    /// The decisions left out, by name (or id when unnamed), each with its first problem.
    pub skipped: Vec<(String, Problem)>,
    /// Every problem found, including those of the skipped decisions.
    pub problems: Vec<Problem>,
}

/// Parse a DMN document, leaving out the decisions that have problems instead of rejecting
/// the document (test suites like the DMN TCK put many independent decisions in one file,
/// some using features baton lacks). Only an unreadable document is an error.
pub fn parse_lenient(xml: &[u8]) -> Result<Partial, ParseError> {
    let root = parse_document(xml).map_err(|e| ParseError {
        problems: vec![problem(e.message, None, e.pos)],
    })?;
    let mut reader = Reader::default();
    let definitions = reader.definitions(&root);
    Ok(Partial {
        definitions,
        skipped: reader.skipped,
        problems: reader.problems,
    })
}

fn problem(message: impl Into<String>, element_id: Option<&str>, pos: Position) -> Problem {
    Problem {
        severity: Severity::Error,
        message: message.into(),
        element_id: element_id.map(str::to_owned),
        line: pos.line,
        column: pos.column,
    }
}

/// Children by local name (DMN elements carry one of three namespaces; none is BPMN's).
fn children<'a>(el: &'a El, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
    el.children.iter().filter(move |c| c.name == name)
}

fn child<'a>(el: &'a El, name: &str) -> Option<&'a El> {
    el.children.iter().find(|c| c.name == name)
}

fn text_of(el: &El) -> Option<String> {
    child(el, "text").map(|t| t.text.trim().to_owned())
}

#[derive(Default)]
struct Reader {
    problems: Vec<Problem>,
    /// Names with spaces the document declares (input data, decisions, item components),
    /// longest first: FEEL text naming them is rewritten to backtick names before parsing.
    spaced_names: Vec<String>,
    /// `itemDefinition` names: a `typeRef` naming one is a structural type, not coerced.
    item_types: HashSet<String>,
    /// Decisions left out because they have problems (see [`Partial::skipped`]).
    skipped: Vec<(String, Problem)>,
}

impl Reader {
    fn error(&mut self, message: impl Into<String>, el: &El) {
        self.problems.push(problem(message, el.id(), el.pos));
    }

    fn required_id(&mut self, el: &El) -> String {
        match el.id() {
            Some(id) if !id.trim().is_empty() => id.to_owned(),
            _ => {
                self.error(format!("<{}> has no id", el.qname), el);
                String::new()
            }
        }
    }

    fn definitions(&mut self, root: &El) -> DecisionDefinitions {
        if root.name != "definitions" {
            self.error(
                format!(
                    "the root element is <{}>: expected a DMN <definitions>",
                    root.qname
                ),
                root,
            );
        }
        let id = self.required_id(root);
        self.collect_names(root);
        let mut decisions = Vec::new();
        for el in children(root, "decision") {
            let before = self.problems.len();
            let decision = self.decision(el);
            // A decision with problems is left out: `parse` then fails on the problems, and
            // `parse_lenient` keeps the others.
            match (decision, self.problems.get(before)) {
                (Some(d), None) => decisions.push(d),
                (_, first) => {
                    let name = el.attr("name").or(el.id()).unwrap_or_default().to_owned();
                    let first = first.cloned().unwrap_or_else(|| {
                        problem("the decision could not be read", el.id(), el.pos)
                    });
                    self.skipped.push((name, first));
                }
            }
        }
        if decisions.is_empty() && self.problems.is_empty() {
            self.error("the document has no <decision>", root);
        }
        self.check_graph(root, &decisions);
        DecisionDefinitions {
            id,
            name: root.attr("name").map(str::to_owned),
            namespace: root.attr("namespace").map(str::to_owned),
            decisions,
        }
    }

    /// Remember the declared names FEEL text may mention (see [`Reader::spaced_names`]) and
    /// the item definitions.
    fn collect_names(&mut self, root: &El) {
        let mut names = HashSet::new();
        let mut stack: Vec<&El> = vec![root];
        // Iterative: the tree depth is capped by the XML layer, but a wide tree is cheap too.
        while let Some(el) = stack.pop() {
            match el.name.as_str() {
                "inputData"
                | "decision"
                | "businessKnowledgeModel"
                | "variable"
                | "itemComponent"
                | "decisionService" => {
                    if let Some(n) = el.attr("name")
                        && n.trim().contains(' ')
                    {
                        names.insert(n.trim().to_owned());
                    }
                }
                "itemDefinition" => {
                    if let Some(n) = el.attr("name") {
                        self.item_types.insert(n.trim().to_owned());
                    }
                }
                _ => {}
            }
            stack.extend(el.children.iter());
        }
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.spaced_names = names;
    }

    /// FEEL text with every declared spaced name in backticks, so the tokenizer reads it as
    /// one name.
    fn quote_names(&self, text: &str) -> String {
        quote_names(text, &self.spaced_names)
    }

    /// Unique decision ids, required decisions that exist, and no cycle.
    fn check_graph(&mut self, root: &El, decisions: &[Decision]) {
        let mut seen = HashSet::new();
        for d in decisions {
            if !seen.insert(d.id.as_str()) {
                self.error(format!("decision id '{}' is used twice", d.id), root);
            }
        }
        for d in decisions {
            for r in &d.required_decisions {
                if !seen.contains(r.as_str()) {
                    self.error(
                        format!("decision '{}' requires unknown decision '{r}'", d.id),
                        root,
                    );
                }
            }
        }
        // Depth-first search for a cycle, iteratively (the graph comes from the client).
        for start in decisions {
            let mut stack = vec![(start.id.as_str(), 0usize)];
            let mut on_path: Vec<&str> = Vec::new();
            let mut steps = 0usize;
            while let Some((id, next)) = stack.pop() {
                steps += 1;
                if steps > 100_000 {
                    break;
                }
                if next == 0 {
                    on_path.push(id);
                }
                let requires = decisions
                    .iter()
                    .find(|d| d.id == id)
                    .map_or(&[][..], |d| d.required_decisions.as_slice());
                if let Some(r) = requires.get(next) {
                    stack.push((id, next + 1));
                    if r == &start.id {
                        self.error(
                            format!("decision '{}' requires itself (a cycle)", start.id),
                            root,
                        );
                        return;
                    }
                    if !on_path.contains(&r.as_str()) {
                        stack.push((r.as_str(), 0));
                    }
                } else {
                    on_path.pop();
                }
            }
        }
    }

    fn decision(&mut self, el: &El) -> Option<Decision> {
        let id = self.required_id(el);
        let required_decisions = children(el, "informationRequirement")
            .filter_map(|ir| child(ir, "requiredDecision"))
            .filter_map(|rd| rd.attr("href"))
            .map(|href| href.trim_start_matches('#').to_owned())
            .collect();
        let variable_name = child(el, "variable")
            .and_then(|v| v.attr("name"))
            .map(|n| n.trim().to_owned());
        let logic = if let Some(table) = child(el, "decisionTable") {
            DecisionLogic::Table(self.table(table)?)
        } else if let Some(literal) = child(el, "literalExpression") {
            let variable = child(el, "variable");
            let expression = self.expression(literal, text_of(literal).unwrap_or_default())?;
            DecisionLogic::Literal {
                variable: variable
                    .and_then(|v| v.attr("name"))
                    .unwrap_or(&id)
                    .to_owned(),
                type_ref: match variable.and_then(|v| v.attr("typeRef")) {
                    Some(t) => self.type_ref(t, literal),
                    None => None,
                },
                expression,
            }
        } else {
            self.error(
                format!(
                    "decision '{id}' has neither a <decisionTable> nor a <literalExpression> \
                     (baton evaluates those two)"
                ),
                el,
            );
            return None;
        };
        let history_time_to_live = el
            .attr_ns(Ns::Camunda, "historyTimeToLive")
            .and_then(|t| t.trim().parse().ok());
        Some(Decision {
            name: el.attr("name").map(|n| n.trim().to_owned()),
            variable: variable_name,
            version_tag: el.attr_ns(Ns::Camunda, "versionTag").map(str::to_owned),
            history_time_to_live,
            required_decisions,
            logic,
            id,
        })
    }

    fn type_ref(&mut self, text: &str, el: &El) -> Option<TypeRef> {
        Some(match text.trim() {
            "string" => TypeRef::String,
            "boolean" => TypeRef::Boolean,
            "integer" => TypeRef::Integer,
            "long" => TypeRef::Long,
            "double" | "number" => TypeRef::Double,
            "date" | "dateTime" => TypeRef::Date,
            // Item definitions and FEEL's structural and temporal types are not coerced.
            other
                if self.item_types.contains(other)
                    || FEEL_TYPES.contains(&other)
                    || other.starts_with("feel:") =>
            {
                return None;
            }
            other => {
                self.error(
                    format!(
                        "unknown typeRef '{other}' (string, boolean, integer, long, double, date)"
                    ),
                    el,
                );
                return None;
            }
        })
    }

    /// An expression in the element's language: FEEL unless `expressionLanguage` says JUEL.
    fn expression(&mut self, el: &El, text: String) -> Option<Expression> {
        let language = el
            .attr("expressionLanguage")
            .unwrap_or("feel")
            .to_ascii_lowercase();
        let source = match language.as_str() {
            "juel" => {
                if text.contains("${") {
                    text.clone()
                } else {
                    format!("${{{text}}}")
                }
            }
            // DMN 1.1-1.5 name FEEL by a URL ending in `/FEEL/`.
            l if l == "feel" || l.ends_with("/feel/") => {
                let text = at_literals(&self.quote_names(&text));
                // `x in < 10` and friends: unary tests on the right of `in`.
                format!("={}", unary::rewrite_in(&text).unwrap_or(text))
            }
            other => {
                self.error(
                    format!(
                        "expression language '{other}' is not supported (baton evaluates feel \
                         and juel)"
                    ),
                    el,
                );
                return None;
            }
        };
        match Expression::parse(&source) {
            Ok(e) => Some(e),
            Err(e) => {
                self.error(format!("invalid expression '{text}': {}", e.message), el);
                None
            }
        }
    }

    fn table(&mut self, el: &El) -> Option<DecisionTable> {
        let hit_policy = match el.attr("hitPolicy").map(str::trim) {
            None | Some("UNIQUE") => HitPolicy::Unique,
            Some("FIRST") => HitPolicy::First,
            Some("PRIORITY") => HitPolicy::Priority,
            Some("ANY") => HitPolicy::Any,
            Some("COLLECT") => HitPolicy::Collect,
            Some("RULE ORDER") => HitPolicy::RuleOrder,
            Some("OUTPUT ORDER") => HitPolicy::OutputOrder,
            Some(other) => {
                self.error(format!("unknown hitPolicy '{other}'"), el);
                return None;
            }
        };
        let aggregation = match el.attr("aggregation").map(str::trim) {
            None => None,
            Some("SUM") => Some(Aggregation::Sum),
            Some("MIN") => Some(Aggregation::Min),
            Some("MAX") => Some(Aggregation::Max),
            Some("COUNT") => Some(Aggregation::Count),
            Some(other) => {
                self.error(format!("unknown aggregation '{other}'"), el);
                return None;
            }
        };
        if aggregation.is_some() && hit_policy != HitPolicy::Collect {
            self.error("an aggregation needs hitPolicy COLLECT", el);
        }
        let inputs: Vec<Input> = children(el, "input")
            .filter_map(|i| self.input(i))
            .collect();
        let outputs: Vec<Output> = children(el, "output")
            .filter_map(|o| self.output(o))
            .collect();
        if outputs.is_empty() {
            self.error("the decision table has no <output>", el);
        }
        if aggregation.is_some() && outputs.len() > 1 {
            self.error(
                "an aggregation needs exactly one output (Camunda's rule)",
                el,
            );
        }
        let mut rule_ids = HashSet::new();
        let mut rules = Vec::new();
        for r in children(el, "rule") {
            if let Some(rule) = self.rule(r, &inputs, outputs.len()) {
                if !rule_ids.insert(rule.id.clone()) {
                    self.error(format!("rule id '{}' is used twice", rule.id), r);
                }
                rules.push(rule);
            }
        }
        Some(DecisionTable {
            hit_policy,
            aggregation,
            inputs,
            outputs,
            rules,
        })
    }

    fn input(&mut self, el: &El) -> Option<Input> {
        let id = self.required_id(el);
        let Some(expr_el) = child(el, "inputExpression") else {
            self.error(format!("input '{id}' has no <inputExpression>"), el);
            return None;
        };
        let text = text_of(expr_el).unwrap_or_default();
        if text.is_empty() {
            self.error(
                format!("input '{id}' has an empty input expression"),
                expr_el,
            );
            return None;
        }
        let expression = self.expression(expr_el, text)?;
        let type_ref = match expr_el.attr("typeRef") {
            Some(t) => self.type_ref(t, expr_el),
            None => None,
        };
        Some(Input {
            label: el.attr("label").map(str::to_owned),
            variable: el
                .attr_ns(Ns::Camunda, "inputVariable")
                .unwrap_or(CELL_INPUT)
                .to_owned(),
            expression,
            type_ref,
            id,
        })
    }

    fn output(&mut self, el: &El) -> Option<Output> {
        let id = self.required_id(el);
        let name = el
            .attr("name")
            .map(str::to_owned)
            .unwrap_or_else(|| id.clone());
        let type_ref = match el.attr("typeRef") {
            Some(t) => self.type_ref(t, el),
            None => None,
        };
        let mut values = Vec::new();
        if let Some(ov) = child(el, "outputValues") {
            let text = text_of(ov).unwrap_or_default();
            for part in split_values(&text) {
                match Expression::parse(&format!("={part}"))
                    .and_then(|e| e.eval(&crate::value::Variables::new()))
                {
                    Ok(v) => values.push(v),
                    Err(e) => {
                        self.error(format!("invalid output value '{part}': {}", e.message), ov)
                    }
                }
            }
        }
        let default = match child(el, "defaultOutputEntry") {
            Some(d) => match text_of(d) {
                Some(t) if !t.is_empty() => Some(self.expression(d, t)?),
                _ => None,
            },
            None => None,
        };
        Some(Output {
            default,
            label: el.attr("label").map(str::to_owned),
            name,
            type_ref,
            values,
            id,
        })
    }

    fn rule(&mut self, el: &El, inputs: &[Input], output_count: usize) -> Option<Rule> {
        let id = self.required_id(el);
        let entries: Vec<&El> = children(el, "inputEntry").collect();
        let output_entries: Vec<&El> = children(el, "outputEntry").collect();
        if entries.len() != inputs.len() || output_entries.len() != output_count {
            self.error(
                format!(
                    "rule '{id}' has {} input and {} output entries; the table has {} inputs and \
                     {output_count} outputs",
                    entries.len(),
                    output_entries.len(),
                    inputs.len()
                ),
                el,
            );
            return None;
        }
        let input_texts: Vec<String> = entries
            .iter()
            .map(|e| text_of(e).unwrap_or_default())
            .collect();
        let output_texts: Vec<String> = output_entries
            .iter()
            .map(|e| text_of(e).unwrap_or_default())
            .collect();
        let mut fast = Vec::with_capacity(entries.len());
        let mut conditions = Vec::with_capacity(entries.len());
        for (entry, input) in entries.iter().zip(inputs) {
            let text = text_of(entry).unwrap_or_default();
            let juel = entry
                .attr("expressionLanguage")
                .is_some_and(|l| l.eq_ignore_ascii_case("juel"));
            fast.push(if juel {
                None
            } else {
                super::fast::compile(&text)
            });
            let condition = if juel {
                // A JUEL input entry is a boolean expression of its own.
                if text.is_empty() {
                    None
                } else {
                    self.expression(entry, text)
                }
            } else {
                match unary::rewrite(&at_literals(&self.quote_names(&text)), &input.variable) {
                    Ok(None) => None,
                    Ok(Some(feel)) => match Expression::parse(&format!("={feel}")) {
                        Ok(e) => Some(e),
                        Err(e) => {
                            self.error(
                                format!("invalid unary test '{text}': {}", e.message),
                                entry,
                            );
                            return None;
                        }
                    },
                    Err(message) => {
                        self.error(format!("invalid unary test: {message}"), entry);
                        return None;
                    }
                }
            };
            conditions.push(condition);
        }
        let mut outputs = Vec::with_capacity(output_entries.len());
        for entry in output_entries {
            let text = text_of(entry).unwrap_or_default();
            outputs.push(if text.is_empty() {
                None
            } else {
                Some(self.expression(entry, text)?)
            });
        }
        Some(Rule {
            id,
            conditions,
            outputs,
            fast,
            input_texts,
            output_texts,
        })
    }
}

/// FEEL type names a `typeRef` may use that have no Camunda coercion.
const FEEL_TYPES: &[&str] = &[
    "Any",
    "context",
    "list",
    "time",
    "date and time",
    "duration",
    "days and time duration",
    "years and months duration",
    "dayTimeDuration",
    "yearMonthDuration",
];

/// `text` with each of `names` (longest first) that stands as a whole word outside string
/// literals and backticks wrapped in backticks.
fn quote_names(text: &str, names: &[String]) -> String {
    if names.is_empty() {
        return text.to_owned();
    }
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    let mut prev: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        if c == '"' || c == '`' {
            // Copy the literal whole (up to its unescaped closing quote, or the end).
            let mut end = rest.len();
            let mut escaped = false;
            for (i, d) in rest.char_indices().skip(1) {
                if escaped {
                    escaped = false;
                } else if d == '\\' && c == '"' {
                    escaped = true;
                } else if d == c {
                    end = i + d.len_utf8();
                    break;
                }
            }
            out.push_str(&rest[..end]);
            prev = rest[..end].chars().last();
            rest = &rest[end..];
            continue;
        }
        if !prev.is_some_and(word)
            && let Some(name) = names.iter().find(|n| {
                rest.starts_with(n.as_str()) && !rest[n.len()..].chars().next().is_some_and(word)
            })
        {
            out.push('`');
            out.push_str(name);
            out.push('`');
            rest = &rest[name.len()..];
            prev = Some('`');
            continue;
        }
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// FEEL's temporal literals `@"2018-12-05"` and `@"2018-12-05T10:30:00"` as the calls they
/// stand for (`date(..)`, `date and time(..)`), which the FEEL parser reads. Other `@`
/// literals (times, durations) stay, and the parser rejects them.
fn at_literals(text: &str) -> String {
    if !text.contains("@\"") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            // Copy a plain string literal whole.
            let end = string_end(rest);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        if c == '@' && rest[1..].starts_with('"') {
            let end = 1 + string_end(&rest[1..]);
            let literal = &rest[1..end];
            let inner = literal.trim_matches('"');
            let is_date = |t: &str| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok();
            let function = match inner.split_once('T') {
                None if is_date(inner) => Some("date"),
                Some((day, _)) if is_date(day) => Some("date and time"),
                _ => None,
            };
            match function {
                Some(f) => out.push_str(&format!("{f}({literal})")),
                None => out.push_str(&rest[..end]),
            }
            rest = &rest[end..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The byte length of the string literal `text` starts with (through its closing quote, or
/// all of `text` when it is unterminated).
fn string_end(text: &str) -> usize {
    let mut escaped = false;
    for (i, d) in text.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if d == '\\' {
            escaped = true;
        } else if d == '"' {
            return i + 1;
        }
    }
    text.len()
}

/// `"a","b", "c"` -> the parts (commas inside strings kept).
fn split_values(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_string = false;
    for c in text.chars() {
        match c {
            '"' => {
                in_string = !in_string;
                current.push(c);
            }
            ',' if !in_string => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

//! The reader: BPMN 2.0 XML (as Camunda Modeler writes it, Camunda 7 `camunda:` and Camunda 8
//! `zeebe:` dialects) -> [`Definitions`].
//!
//! Two steps: [`xml`] turns bytes into an element tree with resolved namespaces and positions;
//! the [`Builder`] maps that tree onto the model. This file holds the builder's state, its
//! problem reporting and the small helpers every part shares; its methods live by element
//! family: [`document`] (definitions, collaboration, diagram), [`process`] (scopes, flow nodes,
//! sequence flows), [`events`] (event definitions), [`tasks`] (service, user and call
//! activities, multi-instance) and [`io`] (`camunda:inputOutput`). The builder owns everything that needs
//! the XML to answer: references by id (sequence flow ends, `attachedToRef`, `default`,
//! `errorRef`/`messageRef`/`signalRef`/`escalationRef`), expression syntax (the model only holds
//! parsed expressions), and naming every unsupported construct. Graph rules that can be checked
//! on the finished model live in `validate.rs`.
//!
//! Severity: structural problems (unresolvable references, missing or duplicate ids) are always
//! errors. Execution-related ones (unsupported constructs, bad expressions) are errors in
//! executable processes and warnings in `isExecutable="false"` ones, which Camunda never runs.

mod document;
mod events;
mod io;
mod listeners;
mod process;
mod scripts;
mod tasks;
pub(crate) mod xml;

use std::collections::HashMap;

use super::{Problem, Severity};
use crate::expr::Expression;
use crate::model::*;
use xml::{El, Ns};

const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";

/// What to tell users whose service task is implemented in Java or by an expression.
const EXTERNAL_ADVICE: &str = "baton supports external tasks: set camunda:type=\"external\" with \
     camunda:topic (or zeebe:taskDefinition type), served by a worker or a wasm component";
const SCRIPT_ADVICE: &str = "baton runs Camunda 7 scripts (scriptTask, camunda:script) in \
     javascript, juel and feel, but not Camunda 8 script tasks yet; write the logic as a \
     service task with a topic, served by a worker or a wasm component";
const LISTENER_ADVICE: &str = "baton runs no code inside the engine; model the logic as a \
     service task with a topic, served by a worker or a wasm component";

pub(super) fn read(
    bytes: &[u8],
    options: &super::ParseOptions,
) -> (Option<Definitions>, Vec<Problem>) {
    let root = match xml::parse_document(bytes) {
        Ok(root) => root,
        Err(e) => {
            return (
                None,
                vec![Problem {
                    severity: Severity::Error,
                    message: e.message,
                    element_id: None,
                    line: e.pos.line,
                    column: e.pos.column,
                }],
            );
        }
    };
    if !root.is(Ns::Bpmn, "definitions") {
        let problem = Problem {
            severity: Severity::Error,
            message: format!(
                "not a BPMN 2.0 document: the root element is <{}>, expected <definitions> in \
                 namespace {BPMN_NS}",
                root.qname
            ),
            element_id: None,
            line: root.pos.line,
            column: root.pos.column,
        };
        return (None, vec![problem]);
    }
    let mut b = Builder {
        problems: Vec::new(),
        exec: Severity::Error,
        messages: HashMap::new(),
        errors: HashMap::new(),
        signals: HashMap::new(),
        escalations: HashMap::new(),
        ids: HashMap::new(),
        options: options.clone(),
    };
    let defs = b.definitions(&root);
    (Some(defs), b.problems)
}

/// `kind 'id'` for messages.
fn describe(el: &El) -> String {
    match el.id() {
        Some(id) => format!("{} '{id}'", el.name),
        None => format!("{} (without id)", el.name),
    }
}

fn is_true(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// A bare variable name such as `camunda:collection="items"`.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// Children of `extensionElements`.
fn ext(el: &El) -> impl Iterator<Item = &El> {
    el.children
        .iter()
        .filter(|c| c.is(Ns::Bpmn, "extensionElements"))
        .flat_map(|e| e.children.iter())
}

fn ext_named<'a>(el: &'a El, ns: Ns, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
    ext(el).filter(move |c| c.is(ns, name))
}

fn documentation(el: &El) -> Option<String> {
    let text: Vec<&str> = el
        .children_named(Ns::Bpmn, "documentation")
        .map(|d| d.text.trim())
        .filter(|t| !t.is_empty())
        .collect();
    (!text.is_empty()).then(|| text.join("\n"))
}

fn split_list(v: Option<&str>) -> Vec<String> {
    v.map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// Script languages in `conditionExpression language=...`; JUEL/FEEL are expressions, the
/// rest would need a script engine.
fn is_expression_language(lang: &str) -> bool {
    let l = lang.trim().to_ascii_lowercase();
    l.is_empty()
        || l == "juel"
        || l == "feel"
        || l.contains("feel")
        || l.contains("juel")
        || l == "http://www.w3.org/1999/xpath"
        || l.starts_with("http://www.omg.org/spec/bpmn")
}

/// Look up a reference that may be written as a QName (`tns:newInvoice`, the prefix of the
/// target namespace, as the BPMN schema allows).
fn lookup<'a, K, T, S>(map: &'a HashMap<K, T, S>, r: &str) -> Option<&'a T>
where
    K: std::borrow::Borrow<str> + std::hash::Hash + Eq,
    S: std::hash::BuildHasher,
{
    map.get(r)
        .or_else(|| r.rsplit_once(':').and_then(|(_, local)| map.get(local)))
}

/// A sequence flow before its ends are resolved to node indexes.
struct RawFlow {
    id: String,
    name: Option<String>,
    source: String,
    target: String,
    condition: Option<Expression>,
    listeners: Vec<ExecutionListener>,
    position: Position,
}

/// Per-process state while reading.
#[derive(Default)]
struct ProcCtx {
    nodes: Vec<FlowNode>,
    flows: Vec<RawFlow>,
    /// (boundary node, attachedToRef, element position).
    boundaries: Vec<(NodeIdx, String, Position)>,
    /// (node, default flow id, element position).
    defaults: Vec<(NodeIdx, String, Position)>,
    lanes: Vec<Lane>,
    artifacts: Vec<Artifact>,
}

struct Builder {
    problems: Vec<Problem>,
    /// Severity of execution-related findings in the process being read.
    exec: Severity,
    messages: HashMap<String, MessageDef>,
    errors: HashMap<String, ErrorDef>,
    signals: HashMap<String, SignalDef>,
    escalations: HashMap<String, EscalationDef>,
    /// Every id seen in the document, for duplicate detection.
    ids: HashMap<String, Position>,
    /// Script resources and the JavaScript syntax check, from the host.
    options: super::ParseOptions,
}

impl Builder {
    fn push(&mut self, severity: Severity, el: &El, message: String) {
        self.problems.push(Problem {
            severity,
            message,
            element_id: el.id().map(str::to_owned),
            line: el.pos.line,
            column: el.pos.column,
        });
    }

    /// A structural error: always an error.
    fn error(&mut self, el: &El, message: String) {
        self.push(Severity::Error, el, message);
    }

    /// An execution-related finding: an error in executable processes, else a warning.
    fn exec_problem(&mut self, el: &El, message: String) {
        self.push(self.exec, el, message);
    }

    fn unsupported(&mut self, el: &El, what: &str, advice: &str) {
        let message = format!("{}: {what} not supported: {advice}", describe(el));
        self.exec_problem(el, message);
    }

    fn expr(&mut self, el: &El, what: &str, text: &str) -> Expression {
        match Expression::parse(text) {
            Ok(e) => e,
            Err(e) => {
                self.exec_problem(
                    el,
                    format!(
                        "{}: invalid expression in {what} '{text}': {}",
                        describe(el),
                        e.message
                    ),
                );
                Expression::literal(text)
            }
        }
    }

    fn opt_expr(&mut self, el: &El, what: &str, text: Option<&str>) -> Option<Expression> {
        non_empty(text).map(|t| self.expr(el, what, t))
    }

    /// The element's id, registering it for duplicate detection. Flow elements must have one.
    fn require_id(&mut self, el: &El) -> String {
        match non_empty(el.id()) {
            Some(id) => {
                let id = id.to_owned();
                self.register_id(el, &id);
                id
            }
            None => {
                self.error(el, format!("<{}> has no id attribute", el.qname));
                format!("{}@{}:{}", el.name, el.pos.line, el.pos.column)
            }
        }
    }

    /// The id of an element Camunda accepts without one (sequence flows, artifacts): a
    /// position-based id stands in, which nothing can reference anyway.
    fn optional_id(&mut self, el: &El) -> String {
        match non_empty(el.id()) {
            Some(_) => self.require_id(el),
            None => format!("{}@{}:{}", el.name, el.pos.line, el.pos.column),
        }
    }

    fn register_id(&mut self, el: &El, id: &str) {
        if let Some(first) = self.ids.get(id) {
            let message = format!(
                "{}: duplicate id (first used at {}:{})",
                describe(el),
                first.line,
                first.column
            );
            self.error(el, message);
        } else {
            self.ids.insert(id.to_owned(), el.pos);
        }
    }
}

/// What implements a service-like element.
enum Impl {
    /// An external task (Camunda 7 topic or Camunda 8 job type).
    External(Box<ServiceTaskDef>),
    /// Nothing declared.
    None,
    /// Something baton cannot run (already reported).
    Unsupported,
}

fn form_key(el: &El) -> Option<String> {
    el.attr_ns(Ns::Camunda, "formKey")
        .or_else(|| {
            ext_named(el, Ns::Zeebe, "formDefinition")
                .find_map(|f| f.attr("formKey").or_else(|| f.attr("formId")))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
}

fn properties(el: &El) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for block in ext(el) {
        match (block.ns, block.name.as_str()) {
            (Ns::Camunda, "properties") | (Ns::Zeebe, "properties") => {
                for p in block.children_named(block.ns, "property") {
                    out.push((
                        p.attr("name").unwrap_or_default().to_owned(),
                        p.attr("value").unwrap_or_default().to_owned(),
                    ));
                }
            }
            (Ns::Zeebe, "taskHeaders") => {
                for h in block.children_named(Ns::Zeebe, "header") {
                    out.push((
                        h.attr("key").unwrap_or_default().to_owned(),
                        h.attr("value").unwrap_or_default().to_owned(),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
#[path = "reader_tests.rs"]
pub(super) mod tests;

#[cfg(test)]
#[path = "proptests.rs"]
mod proptests;

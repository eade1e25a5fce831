//! Event definitions: what a catching event waits for (timer, message, signal, error,
//! escalation, conditional, link) and what a throwing event does, with the references to
//! root-level messages, errors, signals and escalations resolved by id.

use super::*;

impl Builder {
    /// Every event definition of `el` (several: a multiple / parallel multiple event).
    fn event_definition_list<'a>(&mut self, el: &'a El) -> Vec<&'a El> {
        if el.child(Ns::Bpmn, "eventDefinitionRef").is_some() {
            self.unsupported(
                el,
                "eventDefinitionRef is",
                "declare the event definition inside the event",
            );
        }
        el.children
            .iter()
            .filter(|c| c.ns == Ns::Bpmn && c.name.ends_with("EventDefinition"))
            .collect()
    }

    pub(super) fn trigger(&mut self, el: &El) -> EventTrigger {
        let defs = self.event_definition_list(el);
        match defs.as_slice() {
            [] => EventTrigger::None,
            [one] => self.trigger_of(el, one),
            several => {
                let parallel = is_true(el.attr("parallelMultiple"));
                if parallel && el.name == "startEvent" {
                    self.unsupported(
                        el,
                        "parallel multiple start events are",
                        "start with one of the triggers (a multiple start event) or join the \
                         triggers after the start",
                    );
                }
                let mut triggers = Vec::with_capacity(several.len());
                for def in several {
                    let t = self.trigger_of(el, def);
                    if matches!(
                        t,
                        EventTrigger::Message { .. } | EventTrigger::Signal { .. }
                    ) {
                        triggers.push(t);
                    } else {
                        self.unsupported(
                            el,
                            &format!("{} in a multiple event is", def.name),
                            "a multiple event combines message and signal definitions",
                        );
                    }
                }
                EventTrigger::Multiple { triggers, parallel }
            }
        }
    }

    /// The trigger of one event definition `def` of `el`.
    fn trigger_of(&mut self, el: &El, def: &El) -> EventTrigger {
        match def.name.as_str() {
            "messageEventDefinition" => match non_empty(def.attr("messageRef")) {
                Some(r) => EventTrigger::Message {
                    name: self.message_name(el, r).unwrap_or_default(),
                },
                None => {
                    self.exec_problem(
                        el,
                        format!("{}: messageEventDefinition has no messageRef", describe(el)),
                    );
                    EventTrigger::Message {
                        name: String::new(),
                    }
                }
            },
            "timerEventDefinition" => match self.timer(el, def) {
                Some(t) => EventTrigger::Timer(t),
                None => EventTrigger::None,
            },
            "signalEventDefinition" => EventTrigger::Signal {
                name: self.signal_name(el, def).unwrap_or_default(),
            },
            "errorEventDefinition" => {
                let code = match non_empty(def.attr("errorRef")) {
                    Some(r) => self.error_ref(el, r).and_then(|e| e.error_code),
                    None => None,
                };
                EventTrigger::Error {
                    code,
                    code_variable: non_empty(def.attr_ns(Ns::Camunda, "errorCodeVariable"))
                        .map(str::to_owned),
                    message_variable: non_empty(def.attr_ns(Ns::Camunda, "errorMessageVariable"))
                        .map(str::to_owned),
                }
            }
            "escalationEventDefinition" => {
                let code = match non_empty(def.attr("escalationRef")) {
                    Some(r) => self.escalation_ref(el, r).and_then(|e| e.escalation_code),
                    None => None,
                };
                EventTrigger::Escalation {
                    code,
                    code_variable: non_empty(def.attr_ns(Ns::Camunda, "escalationCodeVariable"))
                        .map(str::to_owned),
                }
            }
            "conditionalEventDefinition" => {
                let condition = match def.child(Ns::Bpmn, "condition") {
                    Some(c) => self.condition(el, c, "condition"),
                    None => {
                        self.exec_problem(
                            el,
                            format!(
                                "{}: conditionalEventDefinition has no condition",
                                describe(el)
                            ),
                        );
                        None
                    }
                };
                match condition {
                    Some(condition) => EventTrigger::Conditional {
                        condition,
                        variable_name: non_empty(def.attr_ns(Ns::Camunda, "variableName"))
                            .map(str::to_owned),
                    },
                    None => EventTrigger::None,
                }
            }
            "linkEventDefinition" => EventTrigger::Link {
                name: self.link_name(el, def),
            },
            "compensateEventDefinition"
                if matches!(el.name.as_str(), "boundaryEvent" | "startEvent") =>
            {
                EventTrigger::Compensation
            }
            "cancelEventDefinition" if el.name == "boundaryEvent" => EventTrigger::Cancel,
            other => {
                self.unsupported_definition(el, other);
                EventTrigger::None
            }
        }
    }

    pub(super) fn unsupported_definition(&mut self, el: &El, def: &str) {
        match def {
            "compensateEventDefinition" => self.unsupported(
                el,
                "compensation events are",
                "compensation is thrown by intermediate throw and end events and caught \
                 by boundary events and event subprocess start events",
            ),
            "cancelEventDefinition" => self.unsupported(
                el,
                "cancel events are",
                "a transaction is cancelled by a cancel end event inside it and caught \
                 by a cancel boundary event on it",
            ),
            _ => self.unsupported(
                el,
                &format!("{def} here is"),
                "this event definition cannot be used on this kind of event",
            ),
        }
    }

    pub(super) fn result(&mut self, el: &El) -> EventResult {
        let defs = self.event_definition_list(el);
        match defs.as_slice() {
            [] => EventResult::None,
            [one] => self.result_of(el, one),
            several => {
                let mut results = Vec::with_capacity(several.len());
                for def in several {
                    let r = self.result_of(el, def);
                    if matches!(
                        r,
                        EventResult::Signal { .. }
                            | EventResult::Escalation { .. }
                            | EventResult::Message { task: None, .. }
                    ) {
                        results.push(r);
                    } else {
                        self.unsupported(
                            el,
                            &format!("{} in a multiple throw event is", def.name),
                            "a multiple throw event combines message (without implementation), \
                             signal and escalation definitions",
                        );
                    }
                }
                EventResult::Multiple(results)
            }
        }
    }

    /// The result of one event definition `def` of the throwing event `el`.
    fn result_of(&mut self, el: &El, def: &El) -> EventResult {
        match def.name.as_str() {
            "terminateEventDefinition" if el.name == "endEvent" => EventResult::Terminate,
            "errorEventDefinition" if el.name == "endEvent" => {
                match non_empty(def.attr("errorRef")) {
                    Some(r) => match self.error_ref(el, r) {
                        Some(e) => {
                            let code = match e.error_code {
                                Some(c) => c,
                                None => {
                                    self.exec_problem(
                                        el,
                                        format!(
                                            "{}: error '{}' has no errorCode",
                                            describe(el),
                                            e.id
                                        ),
                                    );
                                    e.id.clone()
                                }
                            };
                            EventResult::Error {
                                code,
                                message: e.error_message,
                            }
                        }
                        None => EventResult::None,
                    },
                    None => {
                        self.exec_problem(
                            el,
                            format!(
                                "{}: an error end event needs an errorRef naming the error to throw",
                                describe(el)
                            ),
                        );
                        EventResult::None
                    }
                }
            }
            "escalationEventDefinition" => match non_empty(def.attr("escalationRef")) {
                Some(r) => match self.escalation_ref(el, r) {
                    Some(e) => EventResult::Escalation {
                        code: e.escalation_code.unwrap_or(e.id),
                    },
                    None => EventResult::None,
                },
                None => {
                    self.exec_problem(
                        el,
                        format!(
                            "{}: an escalation throw event needs an escalationRef",
                            describe(el)
                        ),
                    );
                    EventResult::None
                }
            },
            "signalEventDefinition" => match self.signal_name(el, def) {
                Some(name) => EventResult::Signal { name },
                None => EventResult::None,
            },
            "messageEventDefinition" => {
                let name = match non_empty(def.attr("messageRef")) {
                    Some(r) => self.message_name(el, r),
                    None => None,
                };
                // Camunda 7 puts the implementation on the event definition, Camunda 8 on the
                // event: look at both.
                let task = match self.implementation(el, Some(def), ServiceKind::MessageThrow) {
                    Impl::External(t) => Some(*t),
                    Impl::None | Impl::Unsupported => None,
                };
                EventResult::Message { name, task }
            }
            "linkEventDefinition" if el.name == "intermediateThrowEvent" => EventResult::Link {
                name: self.link_name(el, def),
            },
            "compensateEventDefinition" => EventResult::Compensate {
                activity_ref: non_empty(def.attr("activityRef")).map(str::to_owned),
                wait_for_completion: def.attr("waitForCompletion").is_none()
                    || is_true(def.attr("waitForCompletion")),
            },
            "cancelEventDefinition" if el.name == "endEvent" => EventResult::Cancel,
            other => {
                self.unsupported_definition(el, other);
                EventResult::None
            }
        }
    }

    pub(super) fn link_name(&mut self, el: &El, def: &El) -> String {
        match non_empty(def.attr("name")) {
            Some(n) => n.to_owned(),
            None => {
                self.exec_problem(
                    el,
                    format!("{}: linkEventDefinition has no name", describe(el)),
                );
                String::new()
            }
        }
    }

    pub(super) fn timer(&mut self, el: &El, def: &El) -> Option<TimerDefinition> {
        let parts: Vec<&El> = def.children.iter().filter(|c| c.ns == Ns::Bpmn).collect();
        let found = parts.iter().find_map(|c| match c.name.as_str() {
            "timeDate" | "timeDuration" | "timeCycle" => Some(*c),
            _ => None,
        });
        let Some(part) = found else {
            self.exec_problem(
                el,
                format!(
                    "{}: timerEventDefinition needs a timeDate, timeDuration or timeCycle",
                    describe(el)
                ),
            );
            return None;
        };
        let text = part.text.trim();
        if text.is_empty() {
            self.exec_problem(
                el,
                format!(
                    "{}: empty {} in timerEventDefinition",
                    describe(el),
                    part.name
                ),
            );
            return None;
        }
        let e = self.expr(el, &part.name, text);
        Some(match part.name.as_str() {
            "timeDate" => TimerDefinition::Date(e),
            "timeDuration" => TimerDefinition::Duration(e),
            _ => TimerDefinition::Cycle(e),
        })
    }

    pub(super) fn message_name(&mut self, el: &El, r: &str) -> Option<String> {
        match lookup(&self.messages, r) {
            Some(m) => Some(m.name.clone()),
            None => {
                self.error(
                    el,
                    format!(
                        "{}: messageRef '{r}' names no <message> in this file",
                        describe(el)
                    ),
                );
                None
            }
        }
    }

    pub(super) fn signal_name(&mut self, el: &El, def: &El) -> Option<String> {
        let Some(r) = non_empty(def.attr("signalRef")) else {
            self.exec_problem(
                el,
                format!("{}: signalEventDefinition has no signalRef", describe(el)),
            );
            return None;
        };
        match lookup(&self.signals, r) {
            Some(s) => Some(s.name.clone()),
            None => {
                self.error(
                    el,
                    format!(
                        "{}: signalRef '{r}' names no <signal> in this file",
                        describe(el)
                    ),
                );
                None
            }
        }
    }

    pub(super) fn error_ref(&mut self, el: &El, r: &str) -> Option<ErrorDef> {
        let found = lookup(&self.errors, r).cloned();
        if found.is_none() {
            self.error(
                el,
                format!(
                    "{}: errorRef '{r}' names no <error> in this file",
                    describe(el)
                ),
            );
        }
        found
    }

    pub(super) fn escalation_ref(&mut self, el: &El, r: &str) -> Option<EscalationDef> {
        let found = lookup(&self.escalations, r).cloned();
        if found.is_none() {
            self.error(
                el,
                format!(
                    "{}: escalationRef '{r}' names no <escalation> in this file",
                    describe(el)
                ),
            );
        }
        found
    }
}

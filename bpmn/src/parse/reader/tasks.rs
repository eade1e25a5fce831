//! Activities: how a service-like task is implemented (Camunda 7 external task, Camunda 8
//! `zeebe:taskDefinition`, or an unsupported Java/expression implementation, named), user
//! tasks with their assignment and form fields, call activities with their variable mappings,
//! and multi-instance loop characteristics.

use super::*;
use crate::dmn::MapDecisionResult;

impl Builder {
    pub(super) fn service_task(&mut self, el: &El, kind: ServiceKind) -> NodeKind {
        match self.implementation(el, None, kind) {
            Impl::External(def) => NodeKind::ServiceTask(*def),
            // Validation reports the missing topic.
            Impl::None => NodeKind::ServiceTask(ServiceTaskDef {
                kind,
                topic: Expression::literal(""),
                priority: None,
                retries: None,
                error_event_definitions: Vec::new(),
                expression: None,
                delegate: None,
                decision: None,
            }),
            Impl::Unsupported => NodeKind::Task,
        }
    }

    /// How a service-like element is implemented. `def` is the message event definition of a
    /// message throw event (where Camunda 7 puts the attributes).
    pub(super) fn implementation(&mut self, el: &El, def: Option<&El>, kind: ServiceKind) -> Impl {
        let holder = def.unwrap_or(el);
        let cam = |name: &str| {
            holder
                .attr_ns(Ns::Camunda, name)
                .or_else(|| el.attr_ns(Ns::Camunda, name))
        };
        if let Some(found) = self.in_engine_implementation(el, holder, kind) {
            return found;
        }
        if let Some(decision_ref) = cam("decisionRef") {
            return self.decision_implementation(el, decision_ref, kind);
        }
        if ext_named(el, Ns::Zeebe, "calledDecision").next().is_some() {
            self.unsupported(
                el,
                "Camunda 8 DMN decisions (zeebe:calledDecision) are",
                "baton evaluates Camunda 7 business rule tasks (camunda:decisionRef)",
            );
            return Impl::Unsupported;
        }
        let ext_holders = [Some(el), def];
        for h in ext_holders.into_iter().flatten() {
            if ext_named(h, Ns::Camunda, "connector").next().is_some() {
                self.unsupported(el, "connectors (camunda:connector) are", EXTERNAL_ADVICE);
                return Impl::Unsupported;
            }
            if ext_named(h, Ns::Zeebe, "script").next().is_some() {
                self.unsupported(el, "scripts (zeebe:script) are", SCRIPT_ADVICE);
                return Impl::Unsupported;
            }
        }
        let error_event_definitions = self.external_error_definitions(el, def);
        let priority = self.opt_expr(el, "camunda:taskPriority", cam("taskPriority"));
        match cam("type").map(str::trim) {
            Some("external") => {
                let topic = match non_empty(cam("topic")) {
                    Some(t) => self.expr(el, "camunda:topic", t),
                    None => Expression::literal(""),
                };
                return Impl::External(Box::new(ServiceTaskDef {
                    kind,
                    topic,
                    priority,
                    retries: None,
                    error_event_definitions,
                    expression: None,
                    delegate: None,
                    decision: None,
                }));
            }
            Some(other) => {
                self.unsupported(el, &format!("camunda:type=\"{other}\" is"), EXTERNAL_ADVICE);
                return Impl::Unsupported;
            }
            None => {}
        }
        let zeebe = ext_holders
            .into_iter()
            .flatten()
            .find_map(|h| ext_named(h, Ns::Zeebe, "taskDefinition").next());
        if let Some(td) = zeebe {
            let topic = match non_empty(td.attr("type")) {
                Some(t) => self.expr(el, "zeebe:taskDefinition type", t),
                None => Expression::literal(""),
            };
            let retries = self.opt_expr(el, "zeebe:taskDefinition retries", td.attr("retries"));
            return Impl::External(Box::new(ServiceTaskDef {
                kind,
                topic,
                priority,
                retries,
                error_event_definitions,
                expression: None,
                delegate: None,
                decision: None,
            }));
        }
        Impl::None
    }

    /// A business rule task calling a DMN decision (`camunda:decisionRef`, the binding,
    /// tenant, `camunda:mapDecisionResult`, `camunda:resultVariable`), checked as Camunda's
    /// `BpmnParse` checks it.
    fn decision_implementation(&mut self, el: &El, decision_ref: &str, kind: ServiceKind) -> Impl {
        let cam = |name: &str| non_empty(el.attr_ns(Ns::Camunda, name)).map(str::to_owned);
        if kind != ServiceKind::BusinessRule {
            self.exec_problem(
                el,
                format!(
                    "{}: camunda:decisionRef is only allowed on a business rule task",
                    describe(el)
                ),
            );
            return Impl::Unsupported;
        }
        let Some(key) = non_empty(Some(decision_ref)) else {
            self.exec_problem(
                el,
                format!("{}: camunda:decisionRef is empty", describe(el)),
            );
            return Impl::Unsupported;
        };
        let decision_ref = self.expr(el, "camunda:decisionRef", key);
        let binding = match cam("decisionRefBinding").as_deref() {
            None | Some("latest") => DecisionBinding::Latest,
            Some("deployment") => DecisionBinding::Deployment,
            Some(b @ ("version" | "versionTag")) => {
                let attr = if b == "version" {
                    "decisionRefVersion"
                } else {
                    "decisionRefVersionTag"
                };
                let Some(text) = cam(attr) else {
                    self.exec_problem(
                        el,
                        format!(
                            "{}: Missing attribute '{attr}' when 'decisionRefBinding' has value \
                             '{b}'",
                            describe(el)
                        ),
                    );
                    return Impl::Unsupported;
                };
                let e = self.expr(el, &format!("camunda:{attr}"), &text);
                if b == "version" {
                    DecisionBinding::Version(e)
                } else {
                    DecisionBinding::VersionTag(e)
                }
            }
            Some(other) => {
                self.exec_problem(
                    el,
                    format!(
                        "{}: unknown camunda:decisionRefBinding '{other}' (latest, deployment, \
                         version, versionTag)",
                        describe(el)
                    ),
                );
                return Impl::Unsupported;
            }
        };
        let map_result = match cam("mapDecisionResult") {
            None => MapDecisionResult::ResultList,
            Some(name) => match MapDecisionResult::parse(&name) {
                Some(m) => m,
                None => {
                    self.exec_problem(
                        el,
                        format!(
                            "{}: No decision result mapper found for name '{name}'. Supported \
                             mappers are 'singleEntry', 'singleResult', 'collectEntries' and \
                             'resultList'.",
                            describe(el)
                        ),
                    );
                    return Impl::Unsupported;
                }
            },
        };
        let tenant_id =
            cam("decisionRefTenantId").map(|t| self.expr(el, "camunda:decisionRefTenantId", &t));
        Impl::External(Box::new(ServiceTaskDef {
            kind,
            topic: Expression::literal(""),
            priority: None,
            retries: None,
            error_event_definitions: Vec::new(),
            expression: None,
            delegate: None,
            decision: Some(Box::new(DecisionImpl {
                decision_ref,
                binding,
                tenant_id,
                map_result,
                result_variable: cam("resultVariable"),
            })),
        }))
    }

    /// `camunda:expression` (run in the engine) and `camunda:class` /
    /// `camunda:delegateExpression` (Java, run as an external task on the topic
    /// [`delegate_topic`] derives), or `None` when the element has neither.
    fn in_engine_implementation(
        &mut self,
        el: &El,
        holder: &El,
        kind: ServiceKind,
    ) -> Option<Impl> {
        let cam = |name: &str| {
            holder
                .attr_ns(Ns::Camunda, name)
                .or_else(|| el.attr_ns(Ns::Camunda, name))
                .map(str::to_owned)
        };

        let def = |topic: Expression| ServiceTaskDef {
            kind,
            topic,
            priority: None,
            retries: None,
            error_event_definitions: Vec::new(),
            expression: None,
            delegate: None,
            decision: None,
        };
        if let Some(text) = non_empty(cam("expression").as_deref()).map(str::to_owned) {
            let expression = self.expr(el, "camunda:expression", &text);
            let result_variable = non_empty(cam("resultVariable").as_deref()).map(str::to_owned);
            let mut d = def(Expression::literal(""));
            d.expression = Some(ExpressionImpl {
                expression,
                result_variable,
            });
            return Some(Impl::External(Box::new(d)));
        }
        for attr in ["class", "delegateExpression"] {
            if let Some(text) = non_empty(cam(attr).as_deref()).map(str::to_owned) {
                let topic = delegate_topic(&text);
                if topic.is_empty() {
                    self.exec_problem(el, format!("{}: camunda:{attr} is empty", describe(el)));
                    return Some(Impl::Unsupported);
                }
                let mut d = def(Expression::literal(&topic));
                let priority = cam("taskPriority");
                d.priority = self.opt_expr(el, "camunda:taskPriority", priority.as_deref());
                d.error_event_definitions = self.external_error_definitions(el, None);
                d.delegate = Some(text);
                return Some(Impl::External(Box::new(d)));
            }
        }
        None
    }

    pub(super) fn external_error_definitions(
        &mut self,
        el: &El,
        def: Option<&El>,
    ) -> Vec<ErrorEventDefinition> {
        let mut out = Vec::new();
        for h in [Some(el), def].into_iter().flatten() {
            for d in ext_named(h, Ns::Camunda, "errorEventDefinition") {
                let id = d.id().unwrap_or_default().to_owned();
                let error = match non_empty(d.attr("errorRef")) {
                    Some(r) => self.error_ref(el, r),
                    None => {
                        self.exec_problem(
                            el,
                            format!(
                                "{}: camunda:errorEventDefinition '{id}' has no errorRef",
                                describe(el)
                            ),
                        );
                        None
                    }
                };
                let expression = match non_empty(d.attr("expression")) {
                    Some(x) => self.expr(el, "camunda:errorEventDefinition expression", x),
                    None => {
                        self.exec_problem(
                            el,
                            format!(
                                "{}: camunda:errorEventDefinition '{id}' has no expression",
                                describe(el)
                            ),
                        );
                        continue;
                    }
                };
                if let Some(e) = error {
                    out.push(ErrorEventDefinition {
                        id,
                        error_code: e.error_code.unwrap_or(e.id),
                        error_message: e.error_message,
                        expression,
                    });
                }
            }
        }
        out
    }

    pub(super) fn user_task(&mut self, el: &El) -> UserTaskDef {
        let zeebe = ext_named(el, Ns::Zeebe, "assignmentDefinition").next();
        let cam_or_zeebe = |cam: &str, zb: &str| {
            el.attr_ns(Ns::Camunda, cam)
                .or_else(|| zeebe.and_then(|z| z.attr(zb)))
        };
        UserTaskDef {
            assignee: self.opt_expr(el, "assignee", cam_or_zeebe("assignee", "assignee")),
            candidate_users: self.opt_expr(
                el,
                "candidateUsers",
                cam_or_zeebe("candidateUsers", "candidateUsers"),
            ),
            candidate_groups: self.opt_expr(
                el,
                "candidateGroups",
                cam_or_zeebe("candidateGroups", "candidateGroups"),
            ),
            due_date: self.opt_expr(
                el,
                "dueDate",
                el.attr_ns(Ns::Camunda, "dueDate").or_else(|| {
                    ext_named(el, Ns::Zeebe, "taskSchedule").find_map(|s| s.attr("dueDate"))
                }),
            ),
            follow_up_date: self.opt_expr(
                el,
                "followUpDate",
                el.attr_ns(Ns::Camunda, "followUpDate").or_else(|| {
                    ext_named(el, Ns::Zeebe, "taskSchedule").find_map(|s| s.attr("followUpDate"))
                }),
            ),
            priority: self.opt_expr(
                el,
                "priority",
                el.attr_ns(Ns::Camunda, "priority").or_else(|| {
                    ext_named(el, Ns::Zeebe, "priorityDefinition").find_map(|s| s.attr("priority"))
                }),
            ),
            form_key: form_key(el),
            task_listeners: self.task_listeners(el),
            form_fields: self.form_fields(el),
        }
    }

    /// Plain BPMN resource assignment, as Camunda 7 reads it: `humanPerformer` is the assignee,
    /// `potentialOwner` lists `user(x)` / `group(y)` (bare names are groups).
    pub(super) fn resource_assignment(&mut self, el: &El, ut: &mut UserTaskDef) {
        let formal = |r: &El| {
            r.child(Ns::Bpmn, "resourceAssignmentExpression")
                .and_then(|a| a.child(Ns::Bpmn, "formalExpression"))
                .map(|f| f.text.trim().to_owned())
                .filter(|t| !t.is_empty())
        };
        if ut.assignee.is_none()
            && let Some(text) = el.child(Ns::Bpmn, "humanPerformer").and_then(formal)
        {
            ut.assignee = Some(self.expr(el, "humanPerformer", &text));
        }
        let (mut users, mut groups) = (Vec::new(), Vec::new());
        for owner in el.children_named(Ns::Bpmn, "potentialOwner") {
            let Some(text) = formal(owner) else { continue };
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if let Some(u) = part.strip_prefix("user(").and_then(|u| u.strip_suffix(')')) {
                    users.push(u.trim().to_owned());
                } else if let Some(g) = part
                    .strip_prefix("group(")
                    .and_then(|g| g.strip_suffix(')'))
                {
                    groups.push(g.trim().to_owned());
                } else {
                    groups.push(part.to_owned());
                }
            }
        }
        if ut.candidate_users.is_none() && !users.is_empty() {
            ut.candidate_users = Some(self.expr(el, "potentialOwner", &users.join(",")));
        }
        if ut.candidate_groups.is_none() && !groups.is_empty() {
            ut.candidate_groups = Some(self.expr(el, "potentialOwner", &groups.join(",")));
        }
    }

    pub(super) fn form_fields(&mut self, el: &El) -> Vec<FormField> {
        let mut out = Vec::new();
        for data in ext_named(el, Ns::Camunda, "formData") {
            for f in data.children_named(Ns::Camunda, "formField") {
                let Some(id) = non_empty(f.attr("id")) else {
                    self.exec_problem(
                        el,
                        format!("{}: camunda:formField without id", describe(el)),
                    );
                    continue;
                };
                let mut field = FormField {
                    id: id.to_owned(),
                    label: f.attr("label").map(str::to_owned),
                    type_name: non_empty(f.attr("type")).unwrap_or("string").to_owned(),
                    default_value: None,
                    required: false,
                    readonly: false,
                    constraints: Vec::new(),
                    enum_values: Vec::new(),
                };
                field.default_value = self.opt_expr(el, "defaultValue", f.attr("defaultValue"));
                for v in f.children_named(Ns::Camunda, "validation") {
                    for c in v.children_named(Ns::Camunda, "constraint") {
                        let name = c.attr("name").unwrap_or_default().trim();
                        let config = c.attr("config").map(str::to_owned);
                        match name {
                            "required" => field.required = true,
                            "readonly" => field.readonly = true,
                            "" => {}
                            other => field.constraints.push((other.to_owned(), config)),
                        }
                    }
                }
                for v in f.children_named(Ns::Camunda, "value") {
                    if let Some(vid) = non_empty(v.attr("id")) {
                        field
                            .enum_values
                            .push((vid.to_owned(), v.attr("name").map(str::to_owned)));
                    }
                }
                out.push(field);
            }
        }
        out
    }

    pub(super) fn call_activity(&mut self, el: &El) -> CallActivityDef {
        if el.attr_ns(Ns::Camunda, "caseRef").is_some() {
            self.unsupported(
                el,
                "calling CMMN cases (camunda:caseRef) is",
                "call a BPMN process with calledElement",
            );
        }
        for attr in ["variableMappingClass", "variableMappingDelegateExpression"] {
            if el.attr_ns(Ns::Camunda, attr).is_some() {
                self.unsupported(
                    el,
                    &format!("camunda:{attr} is"),
                    "use camunda:in / camunda:out mappings",
                );
            }
        }
        let called = non_empty(el.attr("calledElement")).or_else(|| {
            ext_named(el, Ns::Zeebe, "calledElement").find_map(|z| non_empty(z.attr("processId")))
        });
        let called_element = match called {
            Some(c) => self.expr(el, "calledElement", c),
            None => Expression::literal(""),
        };
        let binding = match el
            .attr_ns(Ns::Camunda, "calledElementBinding")
            .map(str::trim)
        {
            None | Some("latest") => CalledElementBinding::Latest,
            Some("deployment") => CalledElementBinding::Deployment,
            Some("version") => match non_empty(el.attr_ns(Ns::Camunda, "calledElementVersion")) {
                Some(v) => CalledElementBinding::Version(self.expr(el, "calledElementVersion", v)),
                None => {
                    self.exec_problem(
                        el,
                        format!(
                            "{}: calledElementBinding=\"version\" needs camunda:calledElementVersion",
                            describe(el)
                        ),
                    );
                    CalledElementBinding::Latest
                }
            },
            Some("versionTag") => {
                match non_empty(el.attr_ns(Ns::Camunda, "calledElementVersionTag")) {
                    Some(v) => CalledElementBinding::VersionTag(self.expr(
                        el,
                        "calledElementVersionTag",
                        v,
                    )),
                    None => {
                        self.exec_problem(
                            el,
                            format!(
                                "{}: calledElementBinding=\"versionTag\" needs \
                                 camunda:calledElementVersionTag",
                                describe(el)
                            ),
                        );
                        CalledElementBinding::Latest
                    }
                }
            }
            Some(other) => {
                self.exec_problem(
                    el,
                    format!(
                        "{}: unknown camunda:calledElementBinding '{other}' (expected latest, \
                         deployment, version or versionTag)",
                        describe(el)
                    ),
                );
                CalledElementBinding::Latest
            }
        };
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for c in ext(el).filter(|c| c.ns == Ns::Camunda) {
            let list = match c.name.as_str() {
                "in" => &mut inputs,
                "out" => &mut outputs,
                _ => continue,
            };
            if let Some(m) = self.call_mapping(el, c) {
                list.push(m);
            }
        }
        if ext_named(el, Ns::Zeebe, "calledElement")
            .any(|z| is_true(z.attr("propagateAllChildVariables")))
        {
            outputs.push(CallMapping::All { local: false });
        }
        CallActivityDef {
            called_element,
            binding,
            inputs,
            outputs,
        }
    }

    pub(super) fn call_mapping(&mut self, el: &El, c: &El) -> Option<CallMapping> {
        if c.attr("variables").map(str::trim) == Some("all") {
            return Some(CallMapping::All {
                local: is_true(c.attr("local")),
            });
        }
        if c.name == "in"
            && let Some(bk) = non_empty(c.attr("businessKey"))
        {
            return Some(CallMapping::BusinessKey(self.expr(
                el,
                "camunda:in businessKey",
                bk,
            )));
        }
        let Some(target) = non_empty(c.attr("target")).map(str::to_owned) else {
            self.exec_problem(el, format!("{}: {} without target", describe(el), c.qname));
            return None;
        };
        if let Some(src) = non_empty(c.attr("sourceExpression")) {
            let source = self.expr(el, &format!("{} sourceExpression", c.qname), src);
            return Some(CallMapping::Expression { source, target });
        }
        if let Some(src) = non_empty(c.attr("source")) {
            return Some(CallMapping::Source {
                source: src.to_owned(),
                target,
            });
        }
        self.exec_problem(
            el,
            format!(
                "{}: {} needs source, sourceExpression, variables=\"all\" or businessKey",
                describe(el),
                c.qname
            ),
        );
        None
    }

    /// `standardLoopCharacteristics`: `loopCondition`, `testBefore`, `loopMaximum`.
    pub(super) fn standard_loop(&mut self, el: &El) -> Option<StandardLoop> {
        let sl = el.child(Ns::Bpmn, "standardLoopCharacteristics")?;
        let loop_condition = match sl.child(Ns::Bpmn, "loopCondition") {
            Some(c) => self.condition(el, c, "loopCondition"),
            None => None,
        };
        let loop_maximum = match non_empty(sl.attr("loopMaximum")) {
            Some(m) => match m.trim().parse::<i64>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    self.exec_problem(
                        el,
                        format!(
                            "{}: loopMaximum '{m}' must be a non-negative integer",
                            describe(el)
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        Some(StandardLoop {
            loop_condition,
            test_before: is_true(sl.attr("testBefore")),
            loop_maximum,
        })
    }

    pub(super) fn loop_characteristics(&mut self, el: &El) -> Option<MultiInstance> {
        let mi = el.child(Ns::Bpmn, "multiInstanceLoopCharacteristics")?;
        let loop_cardinality = match mi.child(Ns::Bpmn, "loopCardinality") {
            Some(c) => self.opt_expr(el, "loopCardinality", Some(&c.text)),
            None => None,
        };
        let completion_condition = match mi.child(Ns::Bpmn, "completionCondition") {
            Some(c) => self.condition(el, c, "completionCondition"),
            None => None,
        };
        let mut collection = match non_empty(mi.attr_ns(Ns::Camunda, "collection")) {
            Some(c) if is_identifier(c) => Some(Expression::variable(c)),
            Some(c) => Some(self.expr(el, "camunda:collection", c)),
            None => None,
        };
        if collection.is_none()
            && let Some(r) = mi.child(Ns::Bpmn, "loopDataInputRef")
            && let Some(name) = non_empty(Some(&r.text))
        {
            // Plain BPMN: the collection is a variable (data item) named by the reference.
            collection = Some(if is_identifier(name) {
                Expression::variable(name)
            } else {
                self.expr(el, "loopDataInputRef", name)
            });
        }
        let mut element_variable = non_empty(mi.attr_ns(Ns::Camunda, "elementVariable"))
            .or_else(|| {
                mi.child(Ns::Bpmn, "inputDataItem")
                    .and_then(|d| non_empty(d.attr("name")))
            })
            .map(str::to_owned);
        let mut output_collection = None;
        let mut output_element = None;
        if let Some(z) = ext_named(mi, Ns::Zeebe, "loopCharacteristics").next() {
            if let Some(c) = non_empty(z.attr("inputCollection")) {
                collection = Some(self.expr(el, "zeebe inputCollection", c));
            }
            if let Some(v) = non_empty(z.attr("inputElement")) {
                element_variable = Some(v.to_owned());
            }
            output_collection = non_empty(z.attr("outputCollection")).map(str::to_owned);
            output_element = self.opt_expr(el, "zeebe outputElement", z.attr("outputElement"));
        }
        Some(MultiInstance {
            sequential: is_true(mi.attr("isSequential")),
            loop_cardinality,
            collection,
            element_variable,
            completion_condition,
            output_collection,
            output_element,
        })
    }
}

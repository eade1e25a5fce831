//! A process and its scopes: flow nodes, sequence flows and their conditions, lanes,
//! artifacts, execution listeners, and the element kind of each flow node (which hands events
//! to `events`, tasks to `tasks`). After a scope is read, references by id (flow ends,
//! `attachedToRef`, `default`) are resolved to node indexes.

use super::*;

impl Builder {
    pub(super) fn process(&mut self, el: &El) -> Process {
        // Camunda 7 reads a process without isExecutable as executable.
        let executable = el
            .attr("isExecutable")
            .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
        self.exec = if executable {
            Severity::Error
        } else {
            Severity::Warning
        };
        let id = self.require_id(el);
        let history_time_to_live = el.attr_ns(Ns::Camunda, "historyTimeToLive").and_then(|v| {
            let v = v.trim();
            // Camunda accepts days as a number or as an ISO period of days (`P30D`).
            let days = v
                .strip_prefix('P')
                .and_then(|d| d.strip_suffix('D'))
                .unwrap_or(v);
            days.parse::<i32>().ok()
        });
        let task_priority = self.opt_expr(
            el,
            "camunda:taskPriority",
            el.attr_ns(Ns::Camunda, "taskPriority"),
        );
        let mut p = Process {
            id,
            name: el.attr("name").map(str::to_owned),
            is_executable: executable,
            version_tag: el
                .attr_ns(Ns::Camunda, "versionTag")
                .or_else(|| ext_named(el, Ns::Zeebe, "versionTag").find_map(|v| v.attr("value")))
                .map(str::to_owned),
            history_time_to_live,
            task_priority,
            candidate_starter_groups: split_list(el.attr_ns(Ns::Camunda, "candidateStarterGroups")),
            candidate_starter_users: split_list(el.attr_ns(Ns::Camunda, "candidateStarterUsers")),
            startable_in_tasklist: el
                .attr_ns(Ns::Camunda, "isStartableInTasklist")
                .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false")),
            documentation: documentation(el),
            position: el.pos,
            ..Process::default()
        };
        p.listeners = self.listeners(el);
        let mut ctx = ProcCtx::default();
        self.scope(&mut ctx, el, None);
        self.resolve(&mut ctx);
        p.lanes = ctx.lanes;
        p.artifacts = ctx.artifacts;
        p.nodes = ctx.nodes;
        p.index_nodes();
        let flows: Vec<SequenceFlow> = ctx
            .flows
            .into_iter()
            .filter_map(|f| {
                // Flows with an unresolved end were reported in `resolve`; the model cannot
                // hold them.
                let source = *lookup(&p.node_index, &f.source)?;
                let target = *lookup(&p.node_index, &f.target)?;
                Some(SequenceFlow {
                    id: f.id,
                    name: f.name,
                    source,
                    target,
                    condition: f.condition,
                    listeners: f.listeners,
                    position: f.position,
                })
            })
            .collect();
        p.flows = flows;
        for (i, f) in p.flows.iter().enumerate() {
            let fi = FlowIdx(i as u32);
            if let Some(n) = p.nodes.get_mut(f.source.0 as usize) {
                n.outgoing.push(fi);
            }
            if let Some(n) = p.nodes.get_mut(f.target.0 as usize) {
                n.incoming.push(fi);
            }
        }
        for (node, flow_id, pos) in std::mem::take(&mut ctx.defaults) {
            match p.flows.iter().position(|f| f.id == flow_id) {
                Some(fi) => {
                    if let Some(n) = p.nodes.get_mut(node.0 as usize) {
                        n.default_flow = Some(FlowIdx(fi as u32));
                    }
                }
                None => {
                    let node_id = p
                        .nodes
                        .get(node.0 as usize)
                        .map(|n| n.id.clone())
                        .unwrap_or_default();
                    self.problems.push(Problem {
                        severity: Severity::Error,
                        message: format!(
                            "'{node_id}': default flow '{flow_id}' is not a sequence flow of \
                             this process"
                        ),
                        element_id: Some(node_id),
                        line: pos.line,
                        column: pos.column,
                    });
                }
            }
        }
        p
    }

    /// Resolve sequence flow ends and boundary attachments (reporting the dangling ones).
    pub(super) fn resolve(&mut self, ctx: &mut ProcCtx) {
        let by_id: HashMap<&str, usize> = ctx
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut problems = Vec::new();
        for f in &ctx.flows {
            for (end, what) in [(&f.source, "sourceRef"), (&f.target, "targetRef")] {
                if lookup(&by_id, end).is_none() {
                    let message = if end.is_empty() {
                        format!("sequenceFlow '{}' has no {what}", f.id)
                    } else {
                        format!(
                            "sequenceFlow '{}': {what} '{end}' is not a flow node of this process",
                            f.id
                        )
                    };
                    problems.push(Problem {
                        severity: Severity::Error,
                        message,
                        element_id: Some(f.id.clone()),
                        line: f.position.line,
                        column: f.position.column,
                    });
                }
            }
        }
        let mut attach = Vec::new();
        for (b, target, pos) in &ctx.boundaries {
            let b_id = ctx
                .nodes
                .get(b.0 as usize)
                .map(|n| n.id.clone())
                .unwrap_or_default();
            match lookup(&by_id, target) {
                Some(&t) => attach.push((*b, t)),
                None => problems.push(Problem {
                    severity: Severity::Error,
                    message: if target.is_empty() {
                        format!("boundaryEvent '{b_id}' has no attachedToRef")
                    } else {
                        format!(
                            "boundaryEvent '{b_id}': attachedToRef '{target}' is not an \
                             activity of this process"
                        )
                    },
                    element_id: Some(b_id),
                    line: pos.line,
                    column: pos.column,
                }),
            }
        }
        drop(by_id);
        for (b, t) in attach {
            if let Some(NodeKind::BoundaryEvent { attached_to, .. }) =
                ctx.nodes.get_mut(b.0 as usize).map(|n| &mut n.kind)
            {
                *attached_to = NodeIdx(t as u32);
            }
            if let Some(n) = ctx.nodes.get_mut(t) {
                n.boundary_events.push(b);
            }
        }
        self.problems.extend(problems);
    }

    /// Read the children of a process or subprocess into `ctx`.
    pub(super) fn scope(&mut self, ctx: &mut ProcCtx, el: &El, scope: Option<NodeIdx>) {
        for c in el.children.iter().filter(|c| c.ns == Ns::Bpmn) {
            match c.name.as_str() {
                "sequenceFlow" => self.sequence_flow(ctx, c),
                "startEvent"
                | "endEvent"
                | "intermediateCatchEvent"
                | "intermediateThrowEvent"
                | "boundaryEvent"
                | "task"
                | "serviceTask"
                | "sendTask"
                | "businessRuleTask"
                | "userTask"
                | "receiveTask"
                | "manualTask"
                | "scriptTask"
                | "subProcess"
                | "transaction"
                | "adHocSubProcess"
                | "callActivity"
                | "exclusiveGateway"
                | "parallelGateway"
                | "inclusiveGateway"
                | "eventBasedGateway"
                | "complexGateway" => self.flow_node(ctx, c, scope),
                "laneSet" => self.lane_set(ctx, c, None),
                "textAnnotation" => {
                    let text = c.child(Ns::Bpmn, "text").map(|t| t.text.trim().to_owned());
                    self.artifact(ctx, c, ArtifactKind::TextAnnotation, text);
                }
                "association" => {
                    let id = self.optional_id(c);
                    ctx.artifacts.push(Artifact {
                        id,
                        kind: ArtifactKind::Association,
                        text: None,
                        source_ref: c.attr("sourceRef").map(str::to_owned),
                        target_ref: c.attr("targetRef").map(str::to_owned),
                    });
                }
                "group" => {
                    let text = c.attr("name").map(str::to_owned);
                    self.artifact(ctx, c, ArtifactKind::Group, text);
                }
                "dataObject" | "dataObjectReference" => {
                    let text = c.attr("name").map(str::to_owned);
                    self.artifact(ctx, c, ArtifactKind::DataObject, text);
                }
                "dataStoreReference" => {
                    let text = c.attr("name").map(str::to_owned);
                    self.artifact(ctx, c, ArtifactKind::DataStore, text);
                }
                "ioSpecification" => {
                    for d in c
                        .children
                        .iter()
                        .filter(|d| d.is(Ns::Bpmn, "dataInput") || d.is(Ns::Bpmn, "dataOutput"))
                    {
                        let text = d.attr("name").map(str::to_owned);
                        self.artifact(ctx, d, ArtifactKind::DataInputOutput, text);
                    }
                }
                // Known BPMN elements with no execution meaning in baton (or read elsewhere).
                "documentation"
                | "extensionElements"
                | "property"
                | "auditing"
                | "monitoring"
                | "incoming"
                | "outgoing"
                | "dataInputAssociation"
                | "dataOutputAssociation"
                | "multiInstanceLoopCharacteristics"
                | "standardLoopCharacteristics"
                | "correlationSubscription" => {}
                _ => {
                    let message = format!(
                        "{}: unknown BPMN element <{}> is not supported",
                        describe(c),
                        c.qname
                    );
                    self.exec_problem(c, message);
                }
            }
        }
    }

    pub(super) fn artifact(
        &mut self,
        ctx: &mut ProcCtx,
        el: &El,
        kind: ArtifactKind,
        text: Option<String>,
    ) {
        let id = self.optional_id(el);
        ctx.artifacts.push(Artifact {
            id,
            kind,
            text,
            source_ref: None,
            target_ref: None,
        });
    }

    pub(super) fn lane_set(&mut self, ctx: &mut ProcCtx, el: &El, parent: Option<&str>) {
        for lane in el.children_named(Ns::Bpmn, "lane") {
            let id = self.require_id(lane);
            ctx.lanes.push(Lane {
                id: id.clone(),
                name: lane.attr("name").map(str::to_owned),
                parent_lane: parent.map(str::to_owned),
                flow_node_refs: lane
                    .children_named(Ns::Bpmn, "flowNodeRef")
                    .map(|r| r.text.trim().to_owned())
                    .filter(|r| !r.is_empty())
                    .collect(),
            });
            for child in lane.children_named(Ns::Bpmn, "childLaneSet") {
                self.lane_set(ctx, child, Some(&id));
            }
        }
    }

    pub(super) fn sequence_flow(&mut self, ctx: &mut ProcCtx, el: &El) {
        // Camunda 7 accepts sequence flows without id (its own test models have them); they
        // get a position-based id, which nothing can reference anyway.
        let id = self.optional_id(el);
        let mut condition = None;
        if let Some(c) = el.child(Ns::Bpmn, "conditionExpression") {
            condition = self.condition(el, c, "conditionExpression");
        }
        let listeners = self.listeners(el);
        ctx.flows.push(RawFlow {
            id,
            name: el.attr("name").map(str::to_owned),
            source: el.attr("sourceRef").unwrap_or_default().trim().to_owned(),
            target: el.attr("targetRef").unwrap_or_default().trim().to_owned(),
            condition,
            listeners,
            position: el.pos,
        });
    }

    /// A `tFormalExpression` child (`conditionExpression`, `condition`, `completionCondition`).
    pub(super) fn condition(&mut self, owner: &El, c: &El, what: &str) -> Option<Expression> {
        if let Some(lang) = c.attr("language")
            && !is_expression_language(lang)
        {
            return self.script(owner, c, Some(lang), what);
        }
        if c.attr_ns(Ns::Camunda, "resource").is_some() {
            return self.script(owner, c, c.attr("language"), what);
        }
        let text = c.text.trim();
        if text.is_empty() {
            self.exec_problem(owner, format!("{}: empty {what}", describe(owner)));
            return None;
        }
        Some(self.expr(owner, what, text))
    }

    pub(super) fn flow_node(&mut self, ctx: &mut ProcCtx, el: &El, scope: Option<NodeIdx>) {
        let id = self.require_id(el);
        let idx = NodeIdx(ctx.nodes.len() as u32);
        // Pushed before its kind is known so a subprocess's children can name it as scope.
        ctx.nodes.push(FlowNode {
            id,
            name: el.attr("name").map(str::to_owned),
            kind: NodeKind::Task,
            scope,
            incoming: Vec::new(),
            outgoing: Vec::new(),
            boundary_events: Vec::new(),
            default_flow: None,
            async_before: is_true(el.attr_ns(Ns::Camunda, "asyncBefore"))
                || is_true(el.attr_ns(Ns::Camunda, "async")),
            async_after: is_true(el.attr_ns(Ns::Camunda, "asyncAfter")),
            io: IoMapping::default(),
            multi_instance: None,
            standard_loop: None,
            for_compensation: false,
            transaction: false,
            retry_time_cycle: None,
            properties: Vec::new(),
            documentation: documentation(el),
            listeners: Vec::new(),
            position: el.pos,
        });
        let kind = self.node_kind(ctx, el, idx);
        let io = self.io_mapping(el);
        let multi_instance = self.loop_characteristics(el);
        let standard_loop = self.standard_loop(el);
        let properties = properties(el);
        let retry_time_cycle = ext_named(el, Ns::Camunda, "failedJobRetryTimeCycle")
            .map(|r| r.text.trim().to_owned())
            .find(|t| !t.is_empty());
        let for_compensation = is_true(el.attr("isForCompensation"));
        let listeners = self.listeners(el);
        if !matches!(
            el.name.as_str(),
            "subProcess" | "transaction" | "adHocSubProcess"
        ) {
            self.unknown_children(el);
        }
        if let Some(d) = non_empty(el.attr("default")) {
            ctx.defaults.push((idx, d.to_owned(), el.pos));
        }
        if let Some(n) = ctx.nodes.get_mut(idx.0 as usize) {
            n.kind = kind;
            n.io = io;
            n.multi_instance = multi_instance;
            n.standard_loop = standard_loop;
            n.for_compensation = for_compensation;
            n.transaction = el.name == "transaction";
            n.properties = properties;
            n.retry_time_cycle = retry_time_cycle;
            n.listeners = listeners;
        }
    }

    /// BPMN-namespace children of a (non-subprocess) flow node that baton does not know.
    pub(super) fn unknown_children(&mut self, el: &El) {
        for c in el.children.iter().filter(|c| c.ns == Ns::Bpmn) {
            let known = c.name.ends_with("EventDefinition")
                || matches!(
                    c.name.as_str(),
                    "incoming"
                        | "outgoing"
                        | "documentation"
                        | "extensionElements"
                        | "ioSpecification"
                        | "property"
                        | "dataInputAssociation"
                        | "dataOutputAssociation"
                        | "dataInput"
                        | "dataOutput"
                        | "inputSet"
                        | "outputSet"
                        | "multiInstanceLoopCharacteristics"
                        | "standardLoopCharacteristics"
                        | "eventDefinitionRef"
                        | "auditing"
                        | "monitoring"
                        | "script"
                        | "rendering"
                        | "humanPerformer"
                        | "potentialOwner"
                        | "performer"
                        | "resourceRole"
                        | "conditionExpression"
                        | "activationCondition"
                );
            if !known {
                let message = format!(
                    "{}: unknown BPMN element <{}> is not supported",
                    describe(el),
                    c.qname
                );
                self.exec_problem(c, message);
            }
        }
    }

    pub(super) fn node_kind(&mut self, ctx: &mut ProcCtx, el: &El, idx: NodeIdx) -> NodeKind {
        match el.name.as_str() {
            "startEvent" => {
                let trigger = self.trigger(el);
                let form_fields = self.form_fields(el);
                NodeKind::StartEvent {
                    trigger,
                    interrupting: el
                        .attr("isInterrupting")
                        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false")),
                    form_key: form_key(el),
                    form_fields,
                    initiator: non_empty(el.attr_ns(Ns::Camunda, "initiator")).map(str::to_owned),
                }
            }
            "endEvent" => NodeKind::EndEvent {
                result: self.result(el),
            },
            "intermediateThrowEvent" => NodeKind::IntermediateThrowEvent {
                result: self.result(el),
            },
            "intermediateCatchEvent" => NodeKind::IntermediateCatchEvent {
                trigger: self.trigger(el),
            },
            "boundaryEvent" => {
                let trigger = self.trigger(el);
                let target = el
                    .attr("attachedToRef")
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                ctx.boundaries.push((idx, target, el.pos));
                NodeKind::BoundaryEvent {
                    // Patched in `resolve`; left pointing at itself when the ref dangles.
                    attached_to: idx,
                    trigger,
                    cancel_activity: el
                        .attr("cancelActivity")
                        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false")),
                }
            }
            "serviceTask" => self.service_task(el, ServiceKind::Service),
            "sendTask" => self.service_task(el, ServiceKind::Send),
            "businessRuleTask" => self.service_task(el, ServiceKind::BusinessRule),
            "userTask" => {
                let mut ut = self.user_task(el);
                self.resource_assignment(el, &mut ut);
                NodeKind::UserTask(ut)
            }
            "receiveTask" => {
                let message = match non_empty(el.attr("messageRef")) {
                    Some(r) => self.message_name(el, r),
                    None => None,
                };
                NodeKind::ReceiveTask { message }
            }
            "manualTask" => NodeKind::ManualTask,
            "task" => NodeKind::Task,
            "scriptTask" => self.script_task(el),
            "subProcess" | "transaction" | "adHocSubProcess" => {
                if el.name == "adHocSubProcess" {
                    self.unsupported(
                        el,
                        "ad-hoc subprocesses are",
                        "model the activities with explicit sequence flows in an embedded \
                         subprocess",
                    );
                }
                self.scope(ctx, el, Some(idx));
                NodeKind::SubProcess {
                    triggered_by_event: is_true(el.attr("triggeredByEvent")),
                }
            }
            "callActivity" => NodeKind::CallActivity(self.call_activity(el)),
            "exclusiveGateway" => NodeKind::ExclusiveGateway,
            "parallelGateway" => NodeKind::ParallelGateway,
            "inclusiveGateway" => NodeKind::InclusiveGateway,
            "eventBasedGateway" => NodeKind::EventBasedGateway,
            _ => {
                // complexGateway (the only other name `scope` routes here).
                let activation_condition = match el.child(Ns::Bpmn, "activationCondition") {
                    Some(c) => self.condition(el, c, "activationCondition"),
                    None => None,
                };
                NodeKind::ComplexGateway {
                    activation_condition,
                }
            }
        }
    }
}

//! Business rule tasks inside commands: the decision is resolved through the host's resolver
//! (a stand-in here holding one parsed DMN file and recording what it was asked), evaluated
//! against the variables visible from the task, mapped by `camunda:mapDecisionResult` into
//! `camunda:resultVariable`, and recorded as one history event with the required decisions;
//! a failing evaluation or mapping fails the command naming the task.

use std::cell::RefCell;
use std::sync::Arc;

use crate::dmn::{DecisionMeta, DecisionRequest, DecisionResolver, DeployedDecision};
use crate::engine::{
    ApplyOptions, Command, Effect, EngineError, HistoryEvent, InstanceState, StateMachine,
};
use crate::script::{Environment, NoScripts};
use crate::value::{Value, Variables};

const DMN: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dinner" name="Dinner" namespace="d">
  <decision id="season" name="Season">
    <decisionTable id="t1">
      <input id="i1" label="Month"><inputExpression typeRef="integer"><text>month</text></inputExpression></input>
      <output id="o1" name="season" typeRef="string"/>
      <rule id="winter"><inputEntry><text>12,1,2</text></inputEntry><outputEntry><text>"Winter"</text></outputEntry></rule>
      <rule id="other"><inputEntry><text>[3..11]</text></inputEntry><outputEntry><text>"Other"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="dish" name="Dish">
    <informationRequirement id="ir"><requiredDecision href="#season"/></informationRequirement>
    <decisionTable id="t2" hitPolicy="COLLECT">
      <input id="i2" label="Season"><inputExpression typeRef="string"><text>season</text></inputExpression></input>
      <input id="i3" label="Guests"><inputExpression typeRef="integer"><text>guests</text></inputExpression></input>
      <output id="o2" name="dish" typeRef="string"/>
      <output id="o3" name="wine" typeRef="string"/>
      <rule id="stew"><inputEntry><text>"Winter"</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>"Stew"</text></outputEntry><outputEntry><text>"Red"</text></outputEntry></rule>
      <rule id="roast"><inputEntry><text>"Winter"</text></inputEntry><inputEntry><text>&gt; 4</text></inputEntry><outputEntry><text>"Roast"</text></outputEntry><outputEntry><text></text></outputEntry></rule>
      <rule id="salad"><inputEntry><text>"Other"</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>"Salad"</text></outputEntry><outputEntry><text>"White"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"##;

fn model(attrs: &str) -> crate::Process {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="pick"/>
<bpmn:businessRuleTask id="pick" camunda:decisionRef="${{decisionKey}}" {attrs}/>
<bpmn:sequenceFlow id="f2" sourceRef="pick" targetRef="e"/>
<bpmn:endEvent id="e"/>
</bpmn:process></bpmn:definitions>"#
    );
    let defs = crate::parse::parse(xml.as_bytes()).expect("model parses");
    defs.definitions.processes[0].clone()
}

/// One deployed DMN file; records the requests.
struct Deployed {
    decisions: Arc<crate::dmn::DecisionDefinitions>,
    seen: RefCell<Vec<String>>,
}

impl Deployed {
    fn new() -> Deployed {
        Deployed {
            decisions: Arc::new(crate::dmn::parse(DMN.as_bytes()).expect("dmn parses")),
            seen: RefCell::default(),
        }
    }
}

fn meta(key: &str) -> DecisionMeta {
    DecisionMeta {
        id: format!("{key}:3:x"),
        key: key.into(),
        name: None,
        version: 3,
        decision_requirements_definition_id: Some("dinner:1:y".into()),
        decision_requirements_definition_key: Some("dinner".into()),
        tenant_id: None,
    }
}

impl DecisionResolver for Deployed {
    fn resolve(&self, request: &DecisionRequest<'_>) -> Result<Arc<DeployedDecision>, String> {
        self.seen.borrow_mut().push(format!(
            "{} {:?} {:?}",
            request.key, request.binding, request.tenant_id
        ));
        if self.decisions.decision(request.key).is_none() {
            return Err(format!(
                "no decision definition deployed with key '{}'",
                request.key
            ));
        }
        Ok(Arc::new(DeployedDecision {
            meta: meta(request.key),
            siblings: Arc::new(vec![meta("season"), meta("dish")]),
            definitions: Arc::clone(&self.decisions),
        }))
    }
}

fn run(
    attrs: &str,
    vars: &[(&str, Value)],
    resolver: &Deployed,
) -> Result<(InstanceState, Vec<Effect>), EngineError> {
    let p = model(attrs);
    let mut state = InstanceState::new("pi-1", "p", None, None);
    let variables: Variables = vars
        .iter()
        .map(|(n, v)| ((*n).to_owned(), v.clone()))
        .collect();
    let env = Environment {
        process_definition_id: Some("p:1:x"),
        scripts: &NoScripts,
        decisions: resolver,
    };
    let effects = StateMachine::apply_in(
        &p,
        &mut state,
        Command::Start {
            variables,
            start_activity_id: None,
            initiator: None,
        },
        5_000,
        ApplyOptions::default(),
        env,
    )?;
    Ok((state, effects))
}

/// Start variables by name.
type Vars = Vec<(&'static str, Value)>;

fn winter(guests: i32, key: &str) -> Vars {
    vec![
        ("month", Value::Integer(1)),
        ("guests", Value::Integer(guests)),
        ("decisionKey", Value::String(key.to_owned())),
    ]
}

#[test]
fn every_result_mapper_stores_what_camunda_stores() {
    let d = Deployed::new();
    let attrs = r#"camunda:resultVariable="r" camunda:mapDecisionResult="#;
    let cases: &[(&str, i32, &str, serde_json::Value)] = &[
        (
            "resultList",
            6,
            "dish",
            serde_json::json!([{"dish":"Stew","wine":"Red"},{"dish":"Roast"}]),
        ),
        ("collectEntries", 6, "season", serde_json::json!(["Winter"])),
        (
            "singleResult",
            2,
            "dish",
            serde_json::json!({"dish":"Stew","wine":"Red"}),
        ),
    ];
    for (mapper, guests, key, expected) in cases {
        let (state, _) =
            run(&format!(r#"{attrs}"{mapper}""#), &winter(*guests, key), &d).expect("evaluates");
        assert!(
            !state.is_active(),
            "{mapper}: the task completed in the start command"
        );
        assert_eq!(
            state.process_variables().get("r").map(Value::to_json),
            Some(expected.clone()),
            "{mapper}"
        );
    }
    let (state, _) = run(
        r#"camunda:resultVariable="r" camunda:mapDecisionResult="singleEntry""#,
        &winter(1, "season"),
        &d,
    )
    .expect("evaluates");
    assert_eq!(
        state.process_variables().get("r"),
        Some(&Value::String("Winter".into()))
    );
    // Without a result variable nothing is stored, but the task still completes.
    let (state, _) = run("", &winter(1, "dish"), &d).expect("evaluates");
    assert!(!state.is_active());
    assert!(!state.process_variables().contains_key("r"));
}

#[test]
fn history_carries_the_required_decisions_and_the_matched_rules() {
    let d = Deployed::new();
    let (_, effects) = run(
        r#"camunda:decisionRefBinding="version" camunda:decisionRefVersion="3" camunda:decisionRefTenantId="acme""#,
        &winter(6, "dish"),
        &d,
    )
    .expect("evaluates");
    assert_eq!(d.seen.borrow()[0], r#"dish Version(3) Some("acme")"#);
    let decisions = effects
        .iter()
        .find_map(|e| match e {
            Effect::History(HistoryEvent::DecisionEvaluated {
                activity_id,
                decisions,
                at,
                ..
            }) => {
                assert_eq!((activity_id.as_str(), *at), ("pick", 5_000));
                Some(decisions.clone())
            }
            _ => None,
        })
        .expect("a decision history event");
    assert_eq!(decisions.len(), 2);
    let (root, season) = (&decisions[0], &decisions[1]);
    assert_eq!(root.decision.id, "dish:3:x");
    assert_eq!(root.required_by, None);
    assert_eq!(root.matched_rule_ids, vec!["stew", "roast"]);
    assert_eq!(root.inputs[0].clause_name.as_deref(), Some("Season"));
    assert_eq!(root.inputs[0].value, Value::String("Winter".into()));
    let orders: Vec<_> = root
        .outputs
        .iter()
        .map(|o| (o.variable_name.as_str(), o.rule_order))
        .collect();
    assert_eq!(
        orders,
        vec![("dish", Some(1)), ("wine", Some(1)), ("dish", Some(2))]
    );
    assert_eq!(season.decision.key, "season");
    assert_eq!(season.required_by, Some(0));
    assert_eq!(season.matched_rule_ids, vec!["winter"]);
}

#[test]
fn failures_fail_the_command_naming_the_task() {
    let d = Deployed::new();
    let cases: &[(&str, Vars, &str)] = &[
        (
            "",
            winter(1, "nope"),
            "no decision definition deployed with key 'nope'",
        ),
        (
            r#"camunda:resultVariable="r" camunda:mapDecisionResult="singleEntry""#,
            winter(6, "dish"),
            "ENGINE-22001 The decision result mapper 'SingleEntryDecisionResultMapper{}' failed",
        ),
        (
            r#"camunda:resultVariable="r" camunda:mapDecisionResult="collectEntries""#,
            winter(1, "dish"),
            "ENGINE-22002",
        ),
        (
            "",
            vec![
                ("month", Value::String("May".into())),
                ("decisionKey", Value::String("season".into())),
            ],
            "cannot be transformed to type 'integer'",
        ),
    ];
    for (attrs, vars, expected) in cases {
        let err = run(attrs, vars, &d).expect_err(expected);
        match err {
            EngineError::Expression {
                activity_id,
                message,
            } => {
                assert_eq!(activity_id, "pick");
                assert!(message.contains(expected), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}

//! Decision tables end to end: DMN XML as Camunda Modeler writes it -> parse -> evaluate, for
//! every hit policy, aggregation, type coercion, required decisions and the errors.

use super::*;
use crate::value::Variables;

fn table(hit_policy: &str, inputs: &str, outputs: &str, rules: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
  xmlns:camunda="http://camunda.org/schema/1.0/dmn" id="defs" name="Test" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="d" name="D">
    <decisionTable id="t" {hit_policy}>
{inputs}
{outputs}
{rules}
    </decisionTable>
  </decision>
</definitions>"#
    )
}

fn input(id: &str, expr: &str, type_ref: &str) -> String {
    format!(
        r#"<input id="{id}" label="{id}"><inputExpression id="{id}e" typeRef="{type_ref}"><text>{expr}</text></inputExpression></input>"#
    )
}

fn output(id: &str, name: &str, type_ref: &str, values: Option<&str>) -> String {
    let values = values
        .map(|v| format!("<outputValues><text>{v}</text></outputValues>"))
        .unwrap_or_default();
    format!(r#"<output id="{id}" name="{name}" typeRef="{type_ref}">{values}</output>"#)
}

/// XML text escaping for the entries (`<` in `< 10` must be `&lt;` in the file).
fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;")
}

fn rule(id: &str, inputs: &[&str], outputs: &[&str]) -> String {
    let ins: String = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let t = esc(t);
            format!(r#"<inputEntry id="{id}i{i}"><text>{t}</text></inputEntry>"#)
        })
        .collect();
    let outs: String = outputs
        .iter()
        .enumerate()
        .map(|(i, t)| format!(r#"<outputEntry id="{id}o{i}"><text>{t}</text></outputEntry>"#))
        .collect();
    format!(r#"<rule id="{id}">{ins}{outs}</rule>"#)
}

fn vars(pairs: &[(&str, Value)]) -> Variables {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The dish table of Camunda's getting-started guide.
fn dish(hit_policy: &str) -> DecisionDefinitions {
    let xml = table(
        hit_policy,
        &(input("season", "season", "string") + &input("guests", "guestCount", "integer")),
        &output("dish", "desiredDish", "string", None),
        &[
            rule("r1", &["\"Fall\"", "<= 8"], &["\"Spareribs\""]),
            rule("r2", &["\"Winter\"", "<= 8"], &["\"Roastbeef\""]),
            rule(
                "r3",
                &["\"Spring\"", "<= 4"],
                &["\"Dry Aged Gourmet Steak\""],
            ),
            rule("r4", &["\"Spring\"", "[5..8]"], &["\"Steak\""]),
            rule(
                "r5",
                &["\"Fall\",\"Winter\",\"Spring\"", "> 8"],
                &["\"Stew\""],
            ),
            rule(
                "r6",
                &["\"Summer\"", "-"],
                &["\"Light Salad and a nice Steak\""],
            ),
        ]
        .concat(),
    );
    parse(xml.as_bytes()).expect("parses")
}

fn dish_of(d: &DecisionDefinitions, season: &str, guests: i32) -> Result<Vec<String>, DmnError> {
    let r = d.evaluate(
        "d",
        &vars(&[
            ("season", Value::String(season.into())),
            ("guestCount", Value::Integer(guests)),
        ]),
    )?;
    Ok(r.results
        .iter()
        .map(|r| match &r.entries[0].1 {
            Value::String(s) => s.clone(),
            other => format!("{other:?}"),
        })
        .collect())
}

#[test]
fn unique_table_picks_the_one_rule() {
    let d = dish("");
    assert_eq!(dish_of(&d, "Fall", 4).expect("ok"), vec!["Spareribs"]);
    assert_eq!(dish_of(&d, "Spring", 6).expect("ok"), vec!["Steak"]);
    assert_eq!(dish_of(&d, "Winter", 12).expect("ok"), vec!["Stew"]);
    assert_eq!(
        dish_of(&d, "Summer", 100).expect("ok"),
        vec!["Light Salad and a nice Steak"]
    );
    assert!(dish_of(&d, "Monsoon", 1).expect("ok").is_empty());
    let r = d
        .evaluate(
            "d",
            &vars(&[
                ("season", Value::String("Spring".into())),
                ("guestCount", Value::Integer(5)),
            ]),
        )
        .expect("ok");
    assert_eq!(r.matched_rule_ids, vec!["r4"]);
    assert_eq!(
        r.inputs,
        vec![
            ("season".to_owned(), Value::String("Spring".into())),
            ("guests".to_owned(), Value::Integer(5)),
        ]
    );
}

#[test]
fn unique_with_two_matches_is_camundas_error() {
    let xml = table(
        "",
        &input("x", "x", "integer"),
        &output("o", "o", "string", None),
        &(rule("a", &["< 10"], &["\"a\""]) + &rule("b", &["< 20"], &["\"b\""])),
    );
    let d = parse(xml.as_bytes()).expect("parses");
    let e = d
        .evaluate("d", &vars(&[("x", Value::Integer(5))]))
        .expect_err("two rules");
    assert!(e.message.starts_with(
        "DMN-03001 Hit policy 'UNIQUE' only allows a single rule to match. Actually match rules: '[a, b]'"
    ), "{}", e.message);
}

#[test]
fn first_any_rule_order_and_collect() {
    let rules = rule("a", &["< 10"], &["1"])
        + &rule("b", &["< 20"], &["2"])
        + &rule("c", &["< 30"], &["2"]);
    let make = |hp: &str| {
        parse(
            table(
                hp,
                &input("x", "x", "integer"),
                &output("o", "score", "integer", None),
                &rules,
            )
            .as_bytes(),
        )
        .expect("parses")
    };
    let ints = |d: &DecisionDefinitions, x: i32| -> Result<Vec<Value>, DmnError> {
        Ok(d.evaluate("d", &vars(&[("x", Value::Integer(x))]))?
            .results
            .into_iter()
            .map(|r| r.entries[0].1.clone())
            .collect())
    };
    assert_eq!(
        ints(&make(r#"hitPolicy="FIRST""#), 5).expect("ok"),
        vec![Value::Integer(1)]
    );
    assert_eq!(
        ints(&make(r#"hitPolicy="RULE ORDER""#), 5).expect("ok"),
        vec![Value::Integer(1), Value::Integer(2), Value::Integer(2)]
    );
    assert_eq!(
        ints(&make(r#"hitPolicy="COLLECT""#), 15).expect("ok"),
        vec![Value::Integer(2), Value::Integer(2)]
    );
    // ANY: equal outputs are fine, different ones are not.
    assert_eq!(
        ints(&make(r#"hitPolicy="ANY""#), 15).expect("ok"),
        vec![Value::Integer(2)]
    );
    let e = ints(&make(r#"hitPolicy="ANY""#), 5).expect_err("differ");
    assert!(
        e.message.starts_with("DMN-03002 Hit policy 'ANY'"),
        "{}",
        e.message
    );
    for (agg, want) in [
        ("SUM", Value::Integer(5)),
        ("MIN", Value::Integer(1)),
        ("MAX", Value::Integer(2)),
        ("COUNT", Value::Integer(3)),
    ] {
        let d = make(&format!(r#"hitPolicy="COLLECT" aggregation="{agg}""#));
        let r = d
            .evaluate("d", &vars(&[("x", Value::Integer(5))]))
            .expect("ok");
        assert_eq!(r.collect_result, Some(want.clone()), "{agg}");
        assert_eq!(
            r.results[0].entries,
            vec![("score".to_owned(), want)],
            "{agg}"
        );
    }
    // COUNT of nothing is 0; SUM of nothing is no result.
    let d = make(r#"hitPolicy="COLLECT" aggregation="COUNT""#);
    let r = d
        .evaluate("d", &vars(&[("x", Value::Integer(50))]))
        .expect("ok");
    assert_eq!(r.collect_result, Some(Value::Integer(0)));
    let d = make(r#"hitPolicy="COLLECT" aggregation="SUM""#);
    let r = d
        .evaluate("d", &vars(&[("x", Value::Integer(50))]))
        .expect("ok");
    assert!(r.results.is_empty());
}

#[test]
fn priority_and_output_order_follow_output_values() {
    let rules = rule("a", &["-"], &["\"low\""])
        + &rule("b", &["> 5"], &["\"high\""])
        + &rule("c", &["> 3"], &["\"medium\""]);
    let make = |hp: &str| {
        parse(
            table(
                hp,
                &input("x", "x", "integer"),
                &output("o", "risk", "string", Some("\"high\",\"medium\",\"low\"")),
                &rules,
            )
            .as_bytes(),
        )
        .expect("parses")
    };
    let risks = |d: &DecisionDefinitions, x: i32| -> Vec<Value> {
        d.evaluate("d", &vars(&[("x", Value::Integer(x))]))
            .expect("ok")
            .results
            .into_iter()
            .map(|r| r.entries[0].1.clone())
            .collect()
    };
    assert_eq!(
        risks(&make(r#"hitPolicy="PRIORITY""#), 9),
        vec![Value::String("high".into())]
    );
    assert_eq!(
        risks(&make(r#"hitPolicy="OUTPUT ORDER""#), 9),
        vec![
            Value::String("high".into()),
            Value::String("medium".into()),
            Value::String("low".into())
        ]
    );
}

#[test]
fn negation_strings_and_types() {
    let xml = table(
        r#"hitPolicy="FIRST""#,
        &(input("c", "category", "string") + &input("a", "amount", "double")),
        &(output("o1", "approved", "boolean", None) + &output("o2", "limit", "long", None)),
        &(rule(
            "r1",
            &["not(\"gold\",\"platinum\")", "< 1000"],
            &["true", "1000"],
        ) + &rule("r2", &["\"gold\"", "-"], &["true", "\"5000\""])
            + &rule("r3", &["-", "-"], &["false", ""])),
    );
    let d = parse(xml.as_bytes()).expect("parses");
    let eval = |c: &str, a: Value| {
        d.evaluate(
            "d",
            &vars(&[("category", Value::String(c.into())), ("amount", a)]),
        )
        .expect("ok")
    };
    let r = eval("silver", Value::Integer(500));
    assert_eq!(
        r.results[0].entries,
        vec![
            ("approved".to_owned(), Value::Boolean(true)),
            ("limit".to_owned(), Value::Long(1000))
        ]
    );
    // The input was coerced to its typeRef (double).
    assert_eq!(r.inputs[1].1, Value::Double(500.0));
    // A string output entry "5000" becomes a long.
    let r = eval("gold", Value::Integer(50_000));
    assert_eq!(
        r.results[0].entries[1],
        ("limit".to_owned(), Value::Long(5000))
    );
    // An empty output entry leaves the output out.
    let r = eval("silver", Value::Integer(5000));
    assert_eq!(
        r.results[0].entries,
        vec![("approved".to_owned(), Value::Boolean(false))]
    );
    // An input that cannot become its type fails clearly.
    let e = d
        .evaluate(
            "d",
            &vars(&[
                ("category", Value::String("x".into())),
                ("amount", Value::String("lots".into())),
            ]),
        )
        .expect_err("not a double");
    assert!(
        e.message.contains("cannot be transformed to type 'double'"),
        "{}",
        e.message
    );
}

#[test]
fn required_decisions_feed_their_outputs() {
    let xml = r##"<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="drg" name="DRG">
  <decision id="season" name="Season">
    <decisionTable id="t1">
      <input id="i1"><inputExpression id="e1" typeRef="integer"><text>month</text></inputExpression></input>
      <output id="o1" name="season" typeRef="string" />
      <rule id="s1"><inputEntry id="a"><text>[3..5]</text></inputEntry><outputEntry id="b"><text>"Spring"</text></outputEntry></rule>
      <rule id="s2"><inputEntry id="c"><text>not([3..5])</text></inputEntry><outputEntry id="d"><text>"Other"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="dish" name="Dish">
    <informationRequirement id="ir"><requiredDecision href="#season" /></informationRequirement>
    <decisionTable id="t2" hitPolicy="FIRST">
      <input id="i2"><inputExpression id="e2" typeRef="string"><text>season</text></inputExpression></input>
      <output id="o2" name="dish" typeRef="string" />
      <rule id="d1"><inputEntry id="f"><text>"Spring"</text></inputEntry><outputEntry id="g"><text>"Asparagus"</text></outputEntry></rule>
      <rule id="d2"><inputEntry id="h"><text>-</text></inputEntry><outputEntry id="i"><text>"Stew"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="greeting" name="Greeting">
    <variable id="v" name="greeting" typeRef="string" />
    <literalExpression id="le"><text>"Hello " + name</text></literalExpression>
  </decision>
</definitions>"##;
    let d = parse(xml.as_bytes()).expect("parses");
    let r = d
        .evaluate("dish", &vars(&[("month", Value::Integer(4))]))
        .expect("ok");
    assert_eq!(r.single_entry(), Some(&Value::String("Asparagus".into())));
    assert_eq!(r.required[0].decision_id, "season");
    let r = d
        .evaluate("greeting", &vars(&[("name", Value::String("Ada".into()))]))
        .expect("ok");
    assert_eq!(r.single_entry(), Some(&Value::String("Hello Ada".into())));
}

#[test]
fn bad_tables_are_refused_with_positions() {
    let bad = table(
        r#"hitPolicy="SOMETIMES""#,
        &input("x", "x", "integer"),
        &output("o", "o", "string", None),
        "",
    );
    let e = parse(bad.as_bytes()).expect_err("bad hit policy");
    assert!(
        e.problems[0]
            .message
            .contains("unknown hitPolicy 'SOMETIMES'")
    );
    assert!(e.problems[0].line > 1);

    let dup = table(
        "",
        &input("x", "x", "integer"),
        &output("o", "o", "string", None),
        &(rule("r", &["1"], &["\"a\""]) + &rule("r", &["2"], &["\"b\""])),
    );
    let e = parse(dup.as_bytes()).expect_err("duplicate rule id");
    assert!(
        e.problems
            .iter()
            .any(|p| p.message.contains("rule id 'r' is used twice"))
    );

    let unparsable = table(
        "",
        &input("x", "x", "integer"),
        &output("o", "o", "string", None),
        &rule("r", &["[1..]"], &["\"a\""]),
    );
    let e = parse(unparsable.as_bytes()).expect_err("bad unary test");
    assert!(
        e.problems[0].message.contains("invalid unary test"),
        "{:?}",
        e.problems
    );
    assert_eq!(e.problems[0].element_id.as_deref(), Some("ri0"));

    let unknown_type = table(
        "",
        &input("x", "x", "money"),
        &output("o", "o", "string", None),
        "",
    );
    let e = parse(unknown_type.as_bytes()).expect_err("unknown type");
    assert!(e.problems[0].message.contains("unknown typeRef 'money'"));

    let cycle = r##"<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="c">
  <decision id="a"><informationRequirement id="i1"><requiredDecision href="#b"/></informationRequirement>
    <literalExpression id="l1"><text>1</text></literalExpression></decision>
  <decision id="b"><informationRequirement id="i2"><requiredDecision href="#a"/></informationRequirement>
    <literalExpression id="l2"><text>2</text></literalExpression></decision>
</definitions>"##;
    let e = parse(cycle.as_bytes()).expect_err("cycle");
    assert!(
        e.problems.iter().any(|p| p.message.contains("cycle")),
        "{:?}",
        e.problems
    );

    assert!(parse(b"<definitions").is_err());
    assert!(parse(b"").is_err());
}

/// A DMN 1.5 model as the TCK writes them: input data with spaces in their names, decisions
/// addressed by name and read by other decisions through their `variable`, unnamed single
/// outputs, a multi-output table (a context), a default output entry, `?` in a unary test and
/// `@"..."` date literals.
const TCK_STYLE: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" id="defs" name="tck"
  namespace="urn:t">
  <itemDefinition name="tApproval"><itemComponent name="Status"><typeRef>string</typeRef></itemComponent></itemDefinition>
  <inputData id="i1" name="Applicant Age"><variable name="Applicant Age" typeRef="number"/></inputData>
  <decision id="d1" name="Age Group">
    <variable name="Age Group" typeRef="string"/>
    <decisionTable>
      <input id="in1"><inputExpression typeRef="number"><text>Applicant Age</text></inputExpression></input>
      <output id="o1"><defaultOutputEntry><text>"unknown"</text></defaultOutputEntry></output>
      <rule id="r1"><inputEntry><text>? &gt;= 18</text></inputEntry><outputEntry><text>"adult"</text></outputEntry></rule>
      <rule id="r2"><inputEntry><text>[0..18)</text></inputEntry><outputEntry><text>"minor"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="d2" name="Approval">
    <variable name="Approval" typeRef="tApproval"/>
    <informationRequirement><requiredDecision href="#d1"/></informationRequirement>
    <decisionTable>
      <input id="in2"><inputExpression typeRef="string"><text>Age Group</text></inputExpression></input>
      <output id="o2" name="Status" typeRef="string"/>
      <output id="o3" name="Since" typeRef="date"/>
      <rule id="r3"><inputEntry><text>"adult"</text></inputEntry><outputEntry><text>"ok"</text></outputEntry><outputEntry><text>@"2018-12-05"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="d3" name="Is Adult">
    <variable name="Is Adult"/>
    <informationRequirement><requiredDecision href="#d1"/></informationRequirement>
    <literalExpression><text>Age Group in ("adult", "senior")</text></literalExpression>
  </decision>
  <decision id="d4" name="Broken"><variable name="Broken"/>
    <literalExpression><text>no such function(1)</text></literalExpression>
  </decision>
</definitions>"##;

#[test]
fn tck_style_models_evaluate_by_name() {
    // Strict parsing rejects the document for the broken decision; lenient parsing keeps the
    // others and says why it left that one out.
    assert!(parse(TCK_STYLE.as_bytes()).is_err());
    let partial = parse_lenient(TCK_STYLE.as_bytes()).expect("readable");
    assert_eq!(partial.skipped.len(), 1);
    assert_eq!(partial.skipped[0].0, "Broken");
    let defs = partial.definitions;
    let age = |n: i32| vars(&[("Applicant Age", Value::Integer(n))]);
    let value = |name: &str, v: &Variables| {
        defs.evaluate_by_name(name, v)
            .expect("evaluates")
            .value
            .to_json()
    };
    assert_eq!(value("Age Group", &age(30)), serde_json::json!("adult"));
    assert_eq!(value("Age Group", &age(3)), serde_json::json!("minor"));
    assert_eq!(value("Age Group", &age(-1)), serde_json::json!("unknown"));
    let since = chrono::NaiveDate::from_ymd_opt(2018, 12, 5)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a date")
        .and_utc()
        .timestamp_millis();
    assert_eq!(
        value("Approval", &age(30)),
        serde_json::json!({"Status": "ok", "Since": since})
    );
    assert_eq!(value("Approval", &age(3)), serde_json::Value::Null);
    assert_eq!(value("Is Adult", &age(30)), serde_json::json!(true));
    assert_eq!(value("Is Adult", &age(3)), serde_json::json!(false));
    assert!(defs.evaluate_by_name("Nope", &age(1)).is_err());
}

mod text_rewrites_never_panic {
    use super::*;
    use proptest::prelude::*;

    fn xml_escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }

    proptest! {
        // Any text in an entry or literal expression (names with spaces declared, so the
        // name quoting runs too) is parsed and evaluated without a panic.
        #[test]
        fn any_entry_text(text in "[ -~äöü@\"`?.,()\\[\\]]{0,40}") {
            let t = xml_escape(&text);
            let xml = format!(
                r#"<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" id="x">
  <inputData id="i" name="A b"/>
  <decision id="d" name="D"><variable name="D"/>
    <decisionTable>
      <input id="in"><inputExpression><text>A b</text></inputExpression></input>
      <output id="o"/>
      <rule id="r"><inputEntry><text>{t}</text></inputEntry><outputEntry><text>{t}</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="e" name="E"><literalExpression><text>{t}</text></literalExpression></decision>
</definitions>"#
            );
            if let Ok(partial) = parse_lenient(xml.as_bytes()) {
                let v = vars(&[("A b", Value::Integer(1))]);
                let _ = partial.definitions.evaluate_by_name("D", &v);
                let _ = partial.definitions.evaluate_by_name("E", &v);
            }
        }
    }
}

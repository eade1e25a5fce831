//! Table-driven tests of the public expression API: one row per operator or feature, with the
//! expected value or the expected error text; and property tests that parsing and evaluating
//! never panic.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::syntax::MAX_NESTING;
use super::{Expression, Language, MAX_DEPTH, Scope};
use crate::value::Value;

struct TestScope {
    vars: BTreeMap<String, Value>,
    exec: BTreeMap<String, Value>,
}

impl Scope for TestScope {
    fn variable(&self, name: &str) -> Option<Value> {
        self.vars.get(name).cloned()
    }
    fn execution_property(&self, name: &str) -> Option<Value> {
        self.exec.get(name).cloned()
    }
}

fn scope() -> TestScope {
    let vars: Vec<(&str, Value)> = vec![
        ("amount", Value::Integer(1500)),
        ("small", Value::Integer(10)),
        ("big", Value::Long(5_000_000_000)),
        ("maxLong", Value::Long(i64::MAX)),
        ("price", Value::Double(2.5)),
        ("short", Value::Short(7)),
        ("approved", Value::Boolean(true)),
        ("rejected", Value::Boolean(false)),
        ("name", Value::from("Ada")),
        ("initiator", Value::from("demo")),
        ("numText", Value::from("42")),
        ("decText", Value::from("1.5")),
        ("blank", Value::from("")),
        ("nothing", Value::Null),
        ("when", Value::Date(1_767_225_600_000)),
        ("later", Value::Date(1_767_225_600_001)),
        (
            "customer",
            Value::Json(json!({"vip": true, "name": "Ada", "tags": ["a", "b"], "age": 36})),
        ),
        ("list", Value::Json(json!([1, 2, 3]))),
        ("emptyList", Value::Json(json!([]))),
        ("emptyMap", Value::Json(json!({}))),
        ("names", Value::Json(json!(["x", "y"]))),
        ("jsonNum", Value::Json(json!(5))),
        (
            "order",
            Value::Json(json!({"items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 5}]})),
        ),
        (
            "serialized",
            Value::Object {
                type_name: Some("com.example.Order".into()),
                format: Some("application/json".into()),
                serialized: r#"{"total": 99, "lines": [1, 2]}"#.into(),
            },
        ),
        ("x", Value::from("ex")),
        ("jsonText", Value::from(r#"{"a": 1}"#)),
    ];
    let exec: Vec<(&str, Value)> = vec![
        ("processInstanceId", Value::from("pi-1")),
        ("processBusinessKey", Value::from("order-7")),
        ("activityId", Value::from("Task_1")),
    ];
    TestScope {
        vars: vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        exec: exec.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    }
}

fn b(x: bool) -> Result<Value, &'static str> {
    Ok(Value::Boolean(x))
}
fn i(x: i32) -> Result<Value, &'static str> {
    Ok(Value::Integer(x))
}
fn l(x: i64) -> Result<Value, &'static str> {
    Ok(Value::Long(x))
}
fn d(x: f64) -> Result<Value, &'static str> {
    Ok(Value::Double(x))
}
fn s(x: &str) -> Result<Value, &'static str> {
    Ok(Value::String(x.to_owned()))
}
fn j(x: serde_json::Value) -> Result<Value, &'static str> {
    Ok(Value::Json(x))
}
const NULL: Result<Value, &str> = Ok(Value::Null);

fn check(rows: &[(&str, Result<Value, &str>)]) {
    let sc = scope();
    let mut failures = Vec::new();
    for (src, want) in rows {
        let got = Expression::parse(src).and_then(|e| e.eval(&sc));
        let ok = match (&got, want) {
            (Ok(g), Ok(w)) => match (g, w) {
                (Value::Double(a), Value::Double(b)) => a == b || (a.is_nan() && b.is_nan()),
                _ => g == w,
            },
            (Err(e), Err(w)) => e.message.contains(w),
            _ => false,
        };
        if !ok {
            failures.push(format!("{src}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn juel_examples_from_camunda_models() {
    check(&[
        ("${amount > 1000 && approved}", b(true)),
        ("${customer.vip}", b(true)),
        ("${not empty list}", b(true)),
        ("${execution.getVariable('x')}", s("ex")),
        ("${initiator}", s("demo")),
    ]);
}

#[test]
fn juel_literals_and_identifiers() {
    check(&[
        ("${1}", l(1)),
        ("${5000000000}", l(5_000_000_000)),
        ("${1.5}", d(1.5)),
        ("${1e3}", d(1000.0)),
        ("${'a\\'b'}", s("a'b")),
        ("${\"q\\\"q\"}", s("q\"q")),
        ("${true}", b(true)),
        ("${false}", b(false)),
        ("${null}", NULL),
        ("${nothing}", NULL),
        ("${jsonNum}", i(5)),
        ("${unknown}", Err("Cannot resolve identifier 'unknown'")),
        ("${execution}", Err("execution object")),
        ("#{name}", s("Ada")),
        ("plain text", s("plain text")),
        ("", s("")),
    ]);
}

#[test]
fn juel_templates() {
    check(&[
        ("Hello ${name}!", s("Hello Ada!")),
        ("${name}-${amount}", s("Ada-1500")),
        ("n=${nothing};", s("n=;")),
        ("p=${price * 2}", s("p=5.0")),
        ("${approved} ", s("true ")),
        ("\\${name}", s("${name}")),
        ("list ${list}", s("list [1,2,3]")),
        ("${unknown} x", Err("Cannot resolve identifier")),
    ]);
}

#[test]
fn juel_arithmetic() {
    check(&[
        ("${1 + 2}", l(3)),
        ("${amount - 500}", l(1000)),
        ("${small * 3}", l(30)),
        ("${big + 1}", l(5_000_000_001)),
        ("${2147483647 + 1}", l(2_147_483_648)),
        ("${maxLong + 1}", Err("integer overflow")),
        ("${maxLong * 2}", Err("integer overflow")),
        ("${-maxLong - 2}", Err("integer overflow")),
        ("${price + 1}", d(3.5)),
        ("${short + 1}", l(8)),
        ("${7 / 2}", d(3.5)),
        ("${6 div 2}", d(3.0)),
        ("${1 / 0}", d(f64::INFINITY)),
        ("${7 % 3}", l(1)),
        ("${7 mod 3}", l(1)),
        ("${7 % 0}", Err("division by zero")),
        ("${7.5 % 2}", d(1.5)),
        ("${-small}", i(-10)),
        ("${-price}", d(-2.5)),
        ("${numText + 1}", l(43)),
        ("${decText + 1}", d(2.5)),
        ("${name + 1}", Err("Cannot coerce 'Ada' to a number")),
        ("${approved + 1}", Err("Cannot coerce a Boolean value")),
        ("${nothing + nothing}", l(0)),
        ("${nothing + 1}", l(1)),
        ("${blank + 1}", l(1)),
        ("${1 + 2 * 3}", l(7)),
        ("${(1 + 2) * 3}", l(9)),
        ("${-(-1)}", l(1)),
        ("${- - 1}", l(1)),
    ]);
}

#[test]
fn juel_comparison() {
    check(&[
        ("${amount > 1000}", b(true)),
        ("${amount gt 1000}", b(true)),
        ("${amount < 1000}", b(false)),
        ("${amount lt 1000}", b(false)),
        ("${amount >= 1500}", b(true)),
        ("${amount ge 1501}", b(false)),
        ("${amount <= 1500}", b(true)),
        ("${amount le 1499}", b(false)),
        ("${amount == 1500}", b(true)),
        ("${amount eq 1500.0}", b(true)),
        ("${amount != 1500}", b(false)),
        ("${amount ne 1}", b(true)),
        ("${short == 7}", b(true)),
        ("${big > amount}", b(true)),
        ("${price > 2}", b(true)),
        ("${numText == 42}", b(true)),
        ("${numText > 41}", b(true)),
        ("${decText == 1.5}", b(true)),
        ("${name == 'Ada'}", b(true)),
        ("${name != 'Bob'}", b(true)),
        ("${name < 'Bob'}", b(true)),
        ("${name == 1}", Err("Cannot coerce 'Ada' to a number")),
        ("${null == null}", b(true)),
        ("${nothing == null}", b(true)),
        ("${name == null}", b(false)),
        ("${nothing > 1}", b(false)),
        ("${approved == true}", b(true)),
        ("${approved == 'true'}", b(true)),
        ("${when < later}", b(true)),
        ("${when == when}", b(true)),
        ("${customer == customer}", b(true)),
        (
            "${customer < customer}",
            Err("Cannot compare a map value with a map value"),
        ),
        (
            "${approved < 1}",
            Err("Cannot coerce a Boolean value to a number"),
        ),
    ]);
}

#[test]
fn juel_logic_and_empty() {
    check(&[
        ("${approved && rejected}", b(false)),
        ("${approved and rejected}", b(false)),
        ("${approved || rejected}", b(true)),
        ("${approved or rejected}", b(true)),
        ("${!approved}", b(false)),
        ("${not approved}", b(false)),
        ("${not rejected && approved}", b(true)),
        // Short-circuit: the right side is not evaluated.
        ("${rejected && unknown}", b(false)),
        ("${approved || unknown}", b(true)),
        ("${nothing && true}", b(false)),
        ("${'true' && true}", b(true)),
        (
            "${amount && true}",
            Err("Cannot coerce a Integer value to Boolean"),
        ),
        ("${empty nothing}", b(true)),
        ("${empty blank}", b(true)),
        ("${empty name}", b(false)),
        ("${empty emptyList}", b(true)),
        ("${empty emptyMap}", b(true)),
        ("${empty list}", b(false)),
        ("${empty amount}", b(false)),
        ("${not empty list}", b(true)),
        ("${!empty blank}", b(false)),
        ("${approved ? 'yes' : 'no'}", s("yes")),
        ("${rejected ? 'yes' : 'no'}", s("no")),
        (
            "${amount > 2000 ? 'big' : amount > 1000 ? 'mid' : 'low'}",
            s("mid"),
        ),
        ("${nothing ? 1 : 2}", l(2)),
        ("${rejected ? unknown : 2}", l(2)),
    ]);
}

#[test]
fn juel_properties_and_indexes() {
    check(&[
        ("${customer.name}", s("Ada")),
        ("${customer['name']}", s("Ada")),
        ("${customer[\"age\"]}", i(36)),
        ("${customer.missing}", NULL),
        ("${customer.tags[1]}", s("b")),
        ("${customer.tags[2]}", NULL),
        ("${customer.tags[-1]}", NULL),
        ("${customer.tags}", j(json!(["a", "b"]))),
        ("${list[0]}", i(1)),
        ("${list['1']}", i(2)),
        ("${list['x']}", Err("Cannot use x as a list index")),
        (
            "${list.size}",
            Err("Cannot resolve property 'size' of a list value"),
        ),
        ("${order.items[1].sku}", s("B-2")),
        ("${serialized.total}", i(99)),
        ("${serialized.lines[1]}", i(2)),
        ("${nothing.anything}", NULL),
        (
            "${name.length}",
            Err("Cannot resolve property 'length' of a String value"),
        ),
        ("${customer[nothing]}", NULL),
    ]);
}

#[test]
fn juel_execution() {
    check(&[
        ("${execution.processInstanceId}", s("pi-1")),
        ("${execution.getProcessInstanceId()}", s("pi-1")),
        ("${execution.processBusinessKey}", s("order-7")),
        ("${execution.businessKey}", s("order-7")),
        ("${execution.getBusinessKey()}", s("order-7")),
        ("${execution.getProcessBusinessKey()}", s("order-7")),
        ("${execution.activityId}", s("Task_1")),
        ("${execution.currentActivityId}", s("Task_1")),
        ("${execution['activityId']}", s("Task_1")),
        ("${execution.tenantId}", NULL),
        ("${execution.getTenantId()}", NULL),
        (
            "${execution.bogus}",
            Err("Cannot resolve property 'bogus' of execution"),
        ),
        (
            "${execution.getBogus()}",
            Err("execution.getBogus() is not supported"),
        ),
        ("${execution.getVariable('amount') > 1000}", b(true)),
        ("${execution.getVariable('missing')}", NULL),
        ("${execution.getVariableLocal('name')}", s("Ada")),
        ("${execution.hasVariable('name')}", b(true)),
        ("${execution.hasVariable('missing')}", b(false)),
        (
            "${execution.getVariable(1)}",
            Err("needs a variable name (a string)"),
        ),
        (
            "${execution.setVariable('a', 1)}",
            Err("execution.setVariable() cannot be used here"),
        ),
    ]);
}

#[test]
fn juel_methods() {
    check(&[
        ("${list.size()}", i(3)),
        ("${customer.size()}", i(4)),
        ("${list.isEmpty()}", b(false)),
        ("${emptyList.isEmpty()}", b(true)),
        ("${blank.isEmpty()}", b(true)),
        ("${name.contains('d')}", b(true)),
        ("${name.startsWith('A')}", b(true)),
        ("${name.endsWith('a')}", b(true)),
        ("${name.equals('Ada')}", b(true)),
        ("${name.equals(1)}", b(false)),
        ("${name.equalsIgnoreCase('ADA')}", b(true)),
        ("${name.toUpperCase()}", s("ADA")),
        ("${name.toLowerCase()}", s("ada")),
        ("${name.length()}", i(3)),
        ("${'  a '.trim()}", s("a")),
        ("${name.substring(1)}", s("da")),
        ("${name.substring(0, 2)}", s("Ad")),
        ("${name.substring(4)}", Err("out of range")),
        ("${name.indexOf('a')}", i(2)),
        ("${list.contains(2)}", b(true)),
        ("${list.contains(9)}", b(false)),
        ("${names.contains('x')}", b(true)),
        ("${customer.tags.contains('b')}", b(true)),
        ("${list.get(0)}", i(1)),
        ("${list.get(5)}", Err("out of bounds")),
        ("${customer.containsKey('vip')}", b(true)),
        ("${customer.get('name')}", s("Ada")),
        ("${customer.prop('name').stringValue()}", s("Ada")),
        ("${customer.prop('age').numberValue()}", i(36)),
        ("${customer.prop('vip').boolValue()}", b(true)),
        ("${customer.hasProp('nope')}", b(false)),
        (
            "${customer.prop('nope')}",
            Err("JSON property 'nope' not found"),
        ),
        ("${amount.toString()}", s("1500")),
        (
            "${name.size()}",
            Err("method 'size' with 0 argument(s) is not supported on a String"),
        ),
        (
            "${name.toUpperCase(1)}",
            Err("toUpperCase() takes no arguments"),
        ),
        ("${name.exec()}", Err("method 'exec'")),
        ("${nothing.size()}", Err("Cannot call size() on null")),
        ("${name.contains(1)}", Err("needs a string argument")),
        ("${S(customer).prop('vip').boolValue()}", b(true)),
        ("${S(jsonText).prop('a')}", i(1)),
        ("${JSON(jsonText).a}", i(1)),
        ("${S(serialized).total}", i(99)),
        ("${S(name)}", Err("the text is not JSON")),
        ("${S(amount)}", Err("needs JSON text or a JSON value")),
        ("${now()}", Err("must not read the clock")),
        ("${dateTime()}", Err("must not read the clock")),
    ]);
}

#[test]
fn juel_syntax_errors_name_the_expression() {
    check(&[
        ("${", Err("missing '}'")),
        ("${a +}", Err("expected a value")),
        ("${a = 1}", Err("compare with '=='")),
        ("${1 2}", Err("expected an operator or '}'")),
        ("${'open}", Err("unterminated string")),
    ]);
    let e = Expression::parse("${a +}").expect_err("bad");
    assert!(e.message.contains("offset"), "{}", e.message);
    let e = Expression::parse("${nope}")
        .and_then(|e| e.eval(&scope()))
        .expect_err("unknown");
    assert_eq!(
        e.message,
        "Unknown property used in expression: ${nope}. Cause: Cannot resolve identifier 'nope'"
    );
}

#[test]
fn feel_examples_from_camunda_models() {
    check(&[
        ("=amount > 1000", b(true)),
        ("=if small > 5 then \"big\" else \"small\"", s("big")),
        ("=if 1 > 5 then \"big\" else \"small\"", s("small")),
        ("=order.items[1].sku", s("A-1")),
    ]);
}

#[test]
fn feel_operators() {
    check(&[
        ("=1", i(1)),
        ("=1.5", d(1.5)),
        ("=\"a\\\"b\"", s("a\"b")),
        ("=true", b(true)),
        ("=null", NULL),
        ("=unknown", NULL),
        ("=unknown.path", NULL),
        ("=name", s("Ada")),
        ("=customer.name", s("Ada")),
        ("=amount = 1500", b(true)),
        ("=amount != 1500", b(false)),
        ("=amount < 1500", b(false)),
        ("=amount <= 1500", b(true)),
        ("=amount >= 1501", b(false)),
        ("=price > 2", b(true)),
        ("=1 = 1.0", b(true)),
        ("=\"1\" = 1", NULL),
        ("=null = null", b(true)),
        ("=unknown = null", b(true)),
        ("=name = null", b(false)),
        ("=name < \"Bob\"", b(true)),
        ("=unknown > 1", NULL),
        ("=when < later", b(true)),
        ("=approved and rejected", b(false)),
        ("=approved or rejected", b(true)),
        ("=approved and null", NULL),
        ("=rejected and null", b(false)),
        ("=approved or null", b(true)),
        ("=not(approved)", b(false)),
        ("=not(null)", NULL),
        ("=1 + 2", i(3)),
        ("=7 - 10", i(-3)),
        ("=6 * 7", i(42)),
        ("=7 / 2", d(3.5)),
        ("=8 / 2", i(4)),
        ("=1 / 0", NULL),
        ("=2 ** 10", i(1024)),
        ("=2 ** -1", d(0.5)),
        ("=2 ** 3 ** 2", i(64)),
        ("=-amount", i(-1500)),
        ("=9223372036854775807 + 1", d(9_223_372_036_854_775_808.0)),
        ("=\"a\" + \"b\"", s("ab")),
        ("=\"a\" + 1", NULL),
        ("=null + 1", NULL),
        ("=1 + 2 * 3", i(7)),
        ("=(1 + 2) * 3", i(9)),
        ("=if approved then 1 else 2", i(1)),
        ("=if null then 1 else 2", i(2)),
        ("=amount between 1000 and 2000", b(true)),
        ("=amount between 1 and 2", b(false)),
        ("=amount between 1 and 2 or approved", b(true)),
        ("=small in [1, 10]", b(true)),
        ("=small in [1, 2]", b(false)),
        ("=2 in list", b(true)),
        ("=name in \"Ada\"", b(true)),
    ]);
}

#[test]
fn feel_lists_contexts_and_paths() {
    check(&[
        ("=[1, 2]", j(json!([1, 2]))),
        ("=[]", j(json!([]))),
        ("={a: 1, \"b c\": \"x\"}", j(json!({"a": 1, "b c": "x"}))),
        ("={a: {b: [true]}}.a.b[1]", b(true)),
        ("=list[1]", i(1)),
        ("=list[3]", i(3)),
        ("=list[4]", NULL),
        ("=list[0]", NULL),
        ("=list[-1]", i(3)),
        ("=list[item > 1]", j(json!([2, 3]))),
        ("=order.items[qty > 3].sku", j(json!(["B-2"]))),
        ("=order.items.sku", j(json!(["A-1", "B-2"]))),
        ("=customer.tags[2]", s("b")),
        ("=serialized.total", i(99)),
        ("=name.length", NULL),
        ("=`name`", s("Ada")),
    ]);
}

#[test]
fn feel_functions() {
    check(&[
        ("=string(1)", s("1")),
        ("=string(1.5)", s("1.5")),
        ("=string(true)", s("true")),
        ("=string(null)", NULL),
        ("=number(\"12\")", i(12)),
        ("=number(\"1.5\")", d(1.5)),
        ("=number(\"abc\")", NULL),
        ("=number(\"inf\")", NULL),
        ("=count(list)", i(3)),
        ("=count([])", i(0)),
        ("=count(name)", NULL),
        ("=sum(list)", i(6)),
        ("=sum([1, 2.5])", d(3.5)),
        ("=sum(1, 2, 3)", i(6)),
        ("=sum([])", NULL),
        ("=sum([1, \"a\"])", NULL),
        ("=min(list)", i(1)),
        ("=max([3, 9, 2])", i(9)),
        ("=max(1, \"a\")", NULL),
        ("=abs(-3)", i(3)),
        ("=floor(1.5)", i(1)),
        ("=ceiling(1.5)", i(2)),
        ("=contains(name, \"d\")", b(true)),
        ("=contains(name, 1)", NULL),
        ("=starts with(name, \"A\")", b(true)),
        ("=ends with(name, \"x\")", b(false)),
        ("=upper case(name)", s("ADA")),
        ("=lower case(name)", s("ada")),
        ("=string length(name)", i(3)),
        ("=string length(\"é\")", i(1)),
        ("=substring(\"foobar\", 3)", s("obar")),
        ("=substring(\"foobar\", 3, 3)", s("oba")),
        ("=substring(\"foobar\", -2, 1)", s("a")),
        ("=substring(\"foobar\", 0)", NULL),
        ("=list contains(list, 2)", b(true)),
        ("=is defined(name)", b(true)),
        ("=is defined(nothing)", b(true)),
        ("=is defined(unknown)", b(false)),
        ("=is defined(customer.vip)", b(true)),
        ("=is defined(customer.nope)", b(false)),
        ("=now()", Err("must not read the clock")),
        ("=frobnicate(1)", Err("unknown function 'frobnicate'")),
    ]);
}

#[test]
fn languages_and_conditions() {
    let sc = scope();
    let rows: &[(&str, Language, Result<bool, &str>)] = &[
        ("${approved}", Language::Juel, Ok(true)),
        ("${'true'}", Language::Juel, Ok(true)),
        (
            "${nothing}",
            Language::Juel,
            Err("returned a Null value, not a boolean"),
        ),
        ("${amount}", Language::Juel, Err("returned a Integer value")),
        ("=approved", Language::Feel, Ok(true)),
        ("=unknown > 1", Language::Feel, Ok(false)),
        (" =amount > 1", Language::Feel, Ok(true)),
        ("true", Language::Literal, Ok(true)),
    ];
    for (src, lang, want) in rows {
        let e = Expression::parse(src).expect(src);
        assert_eq!(e.language(), *lang, "{src}");
        match (e.eval_bool(&sc), want) {
            (Ok(got), Ok(w)) => assert_eq!(got, *w, "{src}"),
            (Err(got), Err(w)) => assert!(got.message.contains(w), "{src}: {}", got.message),
            (got, w) => panic!("{src}: got {got:?}, want {w:?}"),
        }
    }
    let text = |src: &str| {
        Expression::parse(src)
            .and_then(|e| e.eval_string(&sc))
            .expect(src)
    };
    assert_eq!(text("${initiator}"), Some("demo".to_owned()));
    assert_eq!(text("${nothing}"), None);
    assert_eq!(text("${amount}"), Some("1500".to_owned()));
    assert_eq!(
        text("=\"user-\" + string(small)"),
        Some("user-10".to_owned())
    );
    assert_eq!(text("${when}"), Some("2026-01-01T00:00:00.000Z".to_owned()));
}

#[test]
fn variable_shorthand() {
    let e = Expression::variable("list");
    assert_eq!(e.source(), "${list}");
    assert_eq!(e.eval(&scope()), Ok(Value::Json(json!([1, 2, 3]))));
}

#[test]
fn nesting_limits() {
    let sc = scope();
    let ok = |depth: usize| format!("${{{}1{}}}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(
        Expression::parse(&ok(MAX_NESTING - 2)).and_then(|e| e.eval(&sc)),
        Ok(Value::Long(1))
    );
    let feel = format!(
        "={}1{}",
        "(".repeat(MAX_NESTING - 2),
        ")".repeat(MAX_NESTING - 2)
    );
    assert_eq!(
        Expression::parse(&feel).and_then(|e| e.eval(&sc)),
        Ok(Value::Integer(1))
    );
    for src in [
        ok(MAX_NESTING + 1),
        format!("${{{}}}", vec!["1"; 5000].join("+")),
        format!("${{{}1}}", "-".repeat(5000)),
        format!("={}1{}", "[".repeat(300), "]".repeat(300)),
        format!("={}", vec!["1"; 5000].join("**")),
        format!("={}", vec!["a"; 5000].join(".")),
        format!("${{a{}}}", "[0]".repeat(5000)),
    ] {
        let e = Expression::parse(&src).expect_err("too deep");
        assert!(e.message.contains("too deeply"), "{}", e.message);
    }
    // Deep but allowed trees evaluate without exhausting the stack.
    let deep = format!("${{{}}}", vec!["1"; MAX_DEPTH - 1].join("+"));
    let v = Expression::parse(&deep).and_then(|e| e.eval(&sc));
    assert_eq!(v, Ok(Value::Long(MAX_DEPTH as i64 - 1)));
}

/// Tokens expressions are made of, to assemble plausible but arbitrary input.
const TOKENS: &[&str] = &[
    "${",
    "#{",
    "}",
    "=",
    "(",
    ")",
    "[",
    "]",
    "{",
    ".",
    ",",
    ":",
    "?",
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "==",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "&&",
    "||",
    "!",
    "and",
    "or",
    "not",
    "empty",
    "div",
    "mod",
    "eq",
    "if",
    "then",
    "else",
    "between",
    "in",
    "true",
    "false",
    "null",
    "0",
    "1",
    "-1",
    "2.5",
    "1e309",
    "9223372036854775807",
    "'s'",
    "\"s\"",
    "amount",
    "list",
    "customer",
    "name",
    "nothing",
    "maxLong",
    "execution",
    "getVariable",
    "size",
    "contains",
    "item",
    "string",
    "count",
    "sum",
    "upper",
    "case",
    "is",
    "defined",
    "now",
    "substring",
    " ",
    "\\",
    "`",
    "'",
    "\"",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(src in ".{0,60}") {
        if let Ok(e) = Expression::parse(&src) {
            let _ = e.eval(&scope());
            let _ = e.eval_bool(&scope());
            let _ = e.eval_string(&scope());
        }
    }

    #[test]
    fn token_soup_never_panics(
        prefix in prop::sample::select(vec!["${", "=", "#{", "x ${"]),
        toks in prop::collection::vec(prop::sample::select(TOKENS), 0..30),
        close in any::<bool>(),
    ) {
        let mut src = prefix.to_owned();
        for t in toks {
            src.push_str(t);
            src.push(' ');
        }
        if close && prefix != "=" {
            src.push('}');
        }
        if let Ok(e) = Expression::parse(&src) {
            let _ = e.eval(&scope());
            let _ = e.eval_bool(&scope());
            let _ = e.eval_string(&scope());
        }
    }
}

/// Issue 16 point 4: JUEL as Camunda 7 evaluates it (de.odysseus juel under the engine).
#[test]
fn juel_matches_camunda() {
    check(&[
        // Integer + Long literal: EL coerces both to Long.
        ("${small + 5}", l(15)),
        ("${small * small}", l(100)),
        ("${-small}", i(-10)),
        ("${small / 4}", d(2.5)),
        ("${empty nothing}", b(true)),
        ("${empty blank}", b(true)),
        ("${empty emptyList}", b(true)),
        ("${not empty list}", b(true)),
        ("${small > 5 ? 'big' : 'small'}", s("big")),
        ("${name.length()}", i(3)),
        ("${name.startsWith('A')}", b(true)),
        ("${name.concat('!')}", s("Ada!")),
        ("${list.size()}", i(3)),
        ("${list.contains(2)}", b(true)),
        ("${customer.get('name')}", s("Ada")),
        ("${customer.containsKey('vip')}", b(true)),
        ("${customer.containsKey('x')}", b(false)),
        (
            "${nope}",
            Err(
                "Unknown property used in expression: ${nope}. Cause: Cannot resolve identifier 'nope'",
            ),
        ),
    ]);
}

//! Property tests: `parse` never panics and always explains a rejection with a positioned
//! error, on arbitrary bytes, on token soup, and on mutations of a real Modeler document.

use proptest::prelude::*;

use crate::parse::{Severity, parse};

const REAL: &str = include_str!("../../tests/fixtures/parse/camunda7-order.bpmn");

/// The contract checked on every input.
fn check(bytes: &[u8]) {
    match parse(bytes) {
        Ok(parsed) => {
            assert!(
                parsed
                    .warnings
                    .iter()
                    .all(|w| w.severity == Severity::Warning)
            );
        }
        Err(e) => {
            assert!(
                e.problems.iter().any(|p| p.severity == Severity::Error),
                "rejected without an error: {e:?}"
            );
            for p in &e.problems {
                assert!(p.line >= 1 && p.column >= 1, "{p:?}");
            }
        }
    }
}

const TOKENS: &[&str] = &[
    "<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" xmlns:camunda=\"http://camunda.org/schema/1.0/bpmn\">",
    "</bpmn:definitions>",
    "<bpmn:process id=\"p\" isExecutable=\"true\">",
    "</bpmn:process>",
    "<bpmn:subProcess id=\"sp\">",
    "</bpmn:subProcess>",
    "<bpmn:startEvent id=\"s\"/>",
    "<bpmn:endEvent id=\"e\"/>",
    "<bpmn:boundaryEvent id=\"b\" attachedToRef=\"t\"/>",
    "<bpmn:serviceTask id=\"t\" camunda:type=\"external\" camunda:topic=\"x\"/>",
    "<bpmn:sequenceFlow id=\"f\" sourceRef=\"s\" targetRef=\"t\"/>",
    "<bpmn:sequenceFlow id=\"g\" sourceRef=\"t\" targetRef=\"e\">",
    "</bpmn:sequenceFlow>",
    "<bpmn:conditionExpression>${a &gt; 1}</bpmn:conditionExpression>",
    "<bpmn:exclusiveGateway id=\"x\" default=\"g\"/>",
    "<bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition>",
    "<bpmn:multiInstanceLoopCharacteristics camunda:collection=\"c\"/>",
    "<bpmn:extensionElements>",
    "</bpmn:extensionElements>",
    "<camunda:inputOutput><camunda:inputParameter name=\"a\"><camunda:list><camunda:value>1</camunda:value></camunda:list></camunda:inputParameter></camunda:inputOutput>",
    "<bpmn:intermediateThrowEvent id=\"l\"><bpmn:linkEventDefinition name=\"L\"/></bpmn:intermediateThrowEvent>",
    "<bpmn:error id=\"E\" errorCode=\"1\"/>",
    "<bpmn:errorEventDefinition errorRef=\"E\"/>",
    "<![CDATA[x]]>",
    "&amp;",
    "&#0;",
    "<!-- c -->",
    "text",
    " ",
    "\n",
    "<",
    ">",
    "\"",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        check(&bytes);
    }

    #[test]
    fn never_panics_on_token_soup(tokens in proptest::collection::vec(0..TOKENS.len(), 0..60)) {
        let text: String = tokens.iter().filter_map(|&i| TOKENS.get(i).copied()).collect();
        check(text.as_bytes());
    }

    #[test]
    fn never_panics_on_truncations(cut in 0..REAL.len()) {
        check(REAL.as_bytes().get(..cut).unwrap_or_default());
    }

    #[test]
    fn never_panics_on_mutations(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>(), 0..3u8), 1..8)
    ) {
        let mut bytes = REAL.as_bytes().to_vec();
        for (at, byte, op) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        check(&bytes);
    }
}

#[test]
fn the_unmutated_document_parses() {
    check(REAL.as_bytes());
    assert!(parse(REAL.as_bytes()).is_ok());
}

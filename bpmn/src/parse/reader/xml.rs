//! The XML layer of the reader: bytes -> a small owned element tree with resolved namespaces
//! and the line:column of every element.
//!
//! It owns well-formedness (UTF-8, tag balance, namespaces, entity references) and nothing
//! BPMN-specific beyond knowing which namespace URIs matter. The tree is built iteratively with
//! a depth cap, so hostile input can neither overflow the stack here nor in the recursive
//! consumers (and the recursive `Drop`) downstream.

use quick_xml::NsReader;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::model::Position;

/// Deeper nesting than any modeler writes; protects the recursive BPMN walk.
const MAX_DEPTH: usize = 200;

/// The namespaces the reader distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// An unprefixed attribute: no namespace.
    None,
    /// BPMN 2.0 model.
    Bpmn,
    /// Camunda 7 extensions (and the legacy activiti namespace Camunda 7 still accepts).
    Camunda,
    /// Camunda 8 extensions.
    Zeebe,
    /// BPMN DI.
    BpmnDi,
    /// OMG DD DC (bounds).
    Dc,
    /// OMG DD DI (waypoints).
    Di,
    /// XML Schema instance (`xsi:type`).
    Xsi,
    /// Anything else: vendor extensions, ignored.
    Other,
}

fn ns_of_uri(uri: &[u8]) -> Ns {
    match uri {
        b"http://www.omg.org/spec/BPMN/20100524/MODEL" => Ns::Bpmn,
        // The DMN extension namespace Camunda Modeler writes into .dmn files
        // (`camunda:inputVariable`, `camunda:versionTag`, `camunda:historyTimeToLive`).
        b"http://camunda.org/schema/1.0/bpmn"
        | b"http://activiti.org/bpmn"
        | b"http://camunda.org/schema/1.0/dmn" => Ns::Camunda,
        b"http://camunda.org/schema/zeebe/1.0" => Ns::Zeebe,
        b"http://www.omg.org/spec/BPMN/20100524/DI" => Ns::BpmnDi,
        b"http://www.omg.org/spec/DD/20100524/DC" => Ns::Dc,
        b"http://www.omg.org/spec/DD/20100524/DI" => Ns::Di,
        b"http://www.w3.org/2001/XMLSchema-instance" => Ns::Xsi,
        _ => Ns::Other,
    }
}

/// Fallback for prefixes used without an `xmlns:` declaration: Modeler exports never do that,
/// but hand-edited files and snippets pasted from documentation do.
fn ns_of_prefix(prefix: &[u8]) -> Ns {
    match prefix {
        b"bpmn" | b"bpmn2" | b"semantic" | b"model" => Ns::Bpmn,
        b"camunda" | b"activiti" => Ns::Camunda,
        b"zeebe" => Ns::Zeebe,
        b"bpmndi" => Ns::BpmnDi,
        b"dc" | b"omgdc" => Ns::Dc,
        b"di" | b"omgdi" => Ns::Di,
        b"xsi" => Ns::Xsi,
        _ => Ns::Other,
    }
}

/// One attribute, namespace resolved.
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub ns: Ns,
    pub name: String,
    pub value: String,
}

/// One element with its direct text and children.
#[derive(Debug, Clone)]
pub(crate) struct El {
    pub ns: Ns,
    /// Local name (no prefix).
    pub name: String,
    /// Qualified name as written, for messages.
    pub qname: String,
    pub attrs: Vec<Attr>,
    pub children: Vec<El>,
    /// Concatenated direct text and CDATA content, entities resolved.
    pub text: String,
    pub pos: Position,
    /// Where `text` begins in the document (scripts report errors at their own line:column).
    pub text_pos: Option<Position>,
}

impl El {
    /// An unprefixed attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attr_ns(Ns::None, name)
    }

    /// An attribute in a namespace.
    pub fn attr_ns(&self, ns: Ns, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == ns && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// `id`, when present.
    pub fn id(&self) -> Option<&str> {
        self.attr("id")
    }

    /// Direct children in a namespace with a local name.
    pub fn children_named<'a>(
        &'a self,
        ns: Ns,
        name: &'a str,
    ) -> impl Iterator<Item = &'a El> + 'a {
        self.children
            .iter()
            .filter(move |c| c.ns == ns && c.name == name)
    }

    /// The first direct child in a namespace with a local name.
    pub fn child(&self, ns: Ns, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.ns == ns && c.name == name)
    }

    /// Whether this element is `ns:name`.
    pub fn is(&self, ns: Ns, name: &str) -> bool {
        self.ns == ns && self.name == name
    }
}

/// Maps byte offsets to 1-based line:column (columns count characters, not bytes).
pub(crate) struct LineIndex<'a> {
    text: &'a [u8],
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a [u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, starts }
    }

    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let slice = self.text.get(start..offset).unwrap_or(&[]);
        // Count characters; a column inside an invalid sequence still gets a number.
        let column = String::from_utf8_lossy(slice).chars().count() + 1;
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

/// Why the XML layer gave up.
#[derive(Debug, Clone)]
pub(crate) struct XmlError {
    pub message: String,
    pub pos: Position,
}

fn xml_err(message: impl Into<String>, pos: Position) -> XmlError {
    XmlError {
        message: message.into(),
        pos,
    }
}

/// Parse a whole document into its root element.
pub(crate) fn parse_document(xml: &[u8]) -> Result<El, XmlError> {
    let lines = LineIndex::new(xml);
    check_text(xml, &lines)?;

    let mut reader = NsReader::from_reader(xml);
    {
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
    }

    let mut stack: Vec<El> = Vec::new();
    let mut root: Option<El> = None;
    loop {
        let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let (resolved, event) = match reader.read_resolved_event() {
            Ok((res, ev)) => (element_ns(&res), ev),
            Err(e) => {
                let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
                return Err(xml_err(
                    format!("the document is not well-formed XML: {e}"),
                    lines.position(at),
                ));
            }
        };
        match event {
            Event::Start(ref s) | Event::Empty(ref s) => {
                let pos = lines.position(start);
                let is_empty = matches!(event, Event::Empty(_));
                let el = new_element(&reader, s, resolved, pos)?;
                if root.is_some() && stack.is_empty() {
                    return Err(xml_err("the document has more than one root element", pos));
                }
                if is_empty {
                    attach(&mut stack, &mut root, el);
                } else {
                    if stack.len() >= MAX_DEPTH {
                        return Err(xml_err(
                            format!("elements are nested deeper than {MAX_DEPTH} levels"),
                            pos,
                        ));
                    }
                    stack.push(el);
                }
            }
            Event::End(_) => {
                // check_end_names guarantees the match; an unmatched end is an Err above.
                if let Some(el) = stack.pop() {
                    attach(&mut stack, &mut root, el);
                }
            }
            Event::Text(t) => {
                // Indentation between elements is the bulk of all text; every consumer trims,
                // so leading whitespace need not be kept (nor allocated).
                let blank = t.iter().all(u8::is_ascii_whitespace);
                if blank && stack.last().is_none_or(|top| top.text.is_empty()) {
                    continue;
                }
                let s = t
                    .xml_content()
                    .map_err(|e| xml_err(format!("bad text: {e}"), lines.position(start)))?;
                match stack.last_mut() {
                    Some(top) => {
                        if top.text.is_empty() {
                            top.text_pos = Some(lines.position(start));
                        }
                        top.text.push_str(&s)
                    }
                    None if s.trim().is_empty() => {}
                    None => {
                        return Err(xml_err(
                            "text outside the root element: this is not an XML document",
                            lines.position(start),
                        ));
                    }
                }
            }
            Event::CData(c) => {
                let s = c
                    .xml_content()
                    .map_err(|e| xml_err(format!("bad CDATA: {e}"), lines.position(start)))?;
                if let Some(top) = stack.last_mut() {
                    if top.text.is_empty() {
                        // The content starts after `<![CDATA[`.
                        let mut pos = lines.position(start);
                        pos.column = pos.column.saturating_add(9);
                        top.text_pos = Some(pos);
                    }
                    top.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = resolve_reference(&r, lines.position(start))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(xml_err(
            format!(
                "the document ends before <{}> is closed (truncated file?)",
                open.qname
            ),
            open.pos,
        ));
    }
    root.ok_or_else(|| {
        xml_err(
            "the document has no root element: expected a BPMN 2.0 XML document",
            Position { line: 1, column: 1 },
        )
    })
}

/// Reject what is not a document before the XML reader sees it: bytes that are not UTF-8, and
/// an empty (or blank) file, each with a message a user can act on.
fn check_text(xml: &[u8], lines: &LineIndex) -> Result<(), XmlError> {
    let text = match std::str::from_utf8(xml) {
        Ok(t) => t,
        Err(e) => {
            return Err(xml_err(
                "the document is not valid UTF-8 (baton reads BPMN files as UTF-8)",
                lines.position(e.valid_up_to()),
            ));
        }
    };
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.trim().is_empty() {
        return Err(xml_err(
            "the document is empty: expected a BPMN 2.0 XML document",
            Position { line: 1, column: 1 },
        ));
    }
    Ok(())
}

/// The element a start (or empty) tag opens, its attributes decoded and their namespaces
/// resolved; namespace declarations are not kept as attributes.
fn new_element(
    reader: &NsReader<&[u8]>,
    s: &BytesStart<'_>,
    ns: Ns,
    pos: Position,
) -> Result<El, XmlError> {
    let qname = String::from_utf8_lossy(s.name().as_ref()).into_owned();
    let local = String::from_utf8_lossy(s.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in s.attributes() {
        let a = match a {
            Ok(a) => a,
            Err(e) => {
                return Err(xml_err(
                    format!("malformed attribute in <{qname}>: {e}"),
                    pos,
                ));
            }
        };
        if a.key.as_namespace_binding().is_some() {
            continue;
        }
        let (res, local_name) = reader.resolve_attribute(a.key);
        let ans = match res {
            ResolveResult::Unbound => Ns::None,
            ResolveResult::Bound(ns) => ns_of_uri(ns.as_ref()),
            ResolveResult::Unknown(p) => ns_of_prefix(&p),
        };
        let value = match a.decode_and_unescape_value(reader.decoder()) {
            Ok(v) => v.into_owned(),
            Err(e) => {
                return Err(xml_err(
                    format!("malformed attribute value in <{qname}>: {e}"),
                    pos,
                ));
            }
        };
        attrs.push(Attr {
            ns: ans,
            name: String::from_utf8_lossy(local_name.as_ref()).into_owned(),
            value,
        });
    }
    Ok(El {
        ns,
        name: local,
        qname,
        attrs,
        children: Vec::new(),
        text: String::new(),
        pos,
        text_pos: None,
    })
}

/// The text a character reference (`&#65;`) or predefined entity (`&amp;`) stands for; any
/// other entity is an error, since BPMN files declare none.
fn resolve_reference(r: &BytesRef<'_>, pos: Position) -> Result<String, XmlError> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(c.to_string()),
            _ => Err(xml_err("invalid character reference", pos)),
        };
    }
    let name = String::from_utf8_lossy(r).into_owned();
    match quick_xml::escape::resolve_predefined_entity(&name) {
        Some(s) => Ok(s.to_owned()),
        None => Err(xml_err(format!("unknown entity reference '&{name};'"), pos)),
    }
}

/// An element's namespace. Unbound elements (a file without `xmlns`) are read as BPMN;
/// undeclared prefixes fall back to the usual prefix names.
fn element_ns(res: &ResolveResult<'_>) -> Ns {
    match res {
        ResolveResult::Unbound => Ns::Bpmn,
        ResolveResult::Bound(ns) => ns_of_uri(ns.as_ref()),
        ResolveResult::Unknown(prefix) => ns_of_prefix(prefix),
    }
}

fn attach(stack: &mut [El], root: &mut Option<El>, el: El) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_characters() {
        let text = "ab\nçd\n\nx".as_bytes();
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(0), Position { line: 1, column: 1 });
        assert_eq!(idx.position(3), Position { line: 2, column: 1 });
        // 'ç' is two bytes: byte 5 is 'd', the second character of line 2.
        assert_eq!(idx.position(5), Position { line: 2, column: 2 });
        assert_eq!(idx.position(7), Position { line: 3, column: 1 });
        assert_eq!(idx.position(999), Position { line: 4, column: 2 });
    }

    #[test]
    fn resolves_namespaces_and_positions() {
        let xml = br#"<?xml version="1.0"?>
<x:definitions xmlns:x="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:c="http://camunda.org/schema/1.0/bpmn">
  <x:process id="p" c:versionTag="v1">a &amp; b<![CDATA[ <c> ]]>&#65;</x:process>
  <camunda:thing/>
</x:definitions>"#;
        let root = match parse_document(xml) {
            Ok(r) => r,
            Err(e) => panic!("{e:?}"),
        };
        assert!(root.is(Ns::Bpmn, "definitions"));
        assert_eq!(root.pos, Position { line: 2, column: 1 });
        let p = &root.children[0];
        assert!(p.is(Ns::Bpmn, "process"));
        assert_eq!(p.pos, Position { line: 3, column: 3 });
        assert_eq!(p.attr_ns(Ns::Camunda, "versionTag"), Some("v1"));
        assert_eq!(p.text, "a & b <c> A");
        assert!(root.children[1].is(Ns::Camunda, "thing"));
    }

    #[test]
    fn reports_xml_errors_with_positions() {
        let cases: &[(&[u8], &str, u32)] = &[
            (b"", "empty", 1),
            (b"   \n ", "empty", 1),
            (b"<a>\n<b></a>", "not well-formed", 2),
            (b"<a>\n<b>", "truncated", 2),
            (b"\xff\xfe<", "UTF-8", 1),
            (b"hello", "not an XML document", 1),
            (b"<a/><b/>", "more than one root", 1),
            (b"<a>&nope;</a>", "entity", 1),
        ];
        for (xml, needle, line) in cases {
            match parse_document(xml) {
                Ok(_) => panic!("accepted {:?}", String::from_utf8_lossy(xml)),
                Err(e) => {
                    assert!(e.message.contains(needle), "{needle}: {}", e.message);
                    assert_eq!(e.pos.line, *line, "{needle}");
                }
            }
        }
    }

    #[test]
    fn caps_nesting_depth() {
        let xml = "<a>".repeat(MAX_DEPTH + 5);
        let Err(e) = parse_document(xml.as_bytes()) else {
            panic!("accepted deep nesting")
        };
        assert!(e.message.contains("nested deeper"));
    }
}

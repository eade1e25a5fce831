//! `camunda:inputOutput`: input and output parameters of an activity, whose values may be
//! text, expressions, lists, maps or scripts (which baton rejects by name).

use super::*;

impl Builder {
    pub(super) fn io_mapping(&mut self, el: &El) -> IoMapping {
        let mut io = IoMapping::default();
        for block in ext_named(el, Ns::Camunda, "inputOutput") {
            for p in block.children.iter().filter(|c| c.ns == Ns::Camunda) {
                let list = match p.name.as_str() {
                    "inputParameter" => &mut io.inputs,
                    "outputParameter" => &mut io.outputs,
                    _ => continue,
                };
                let Some(name) = non_empty(p.attr("name")).map(str::to_owned) else {
                    self.exec_problem(el, format!("{}: {} without name", describe(el), p.qname));
                    continue;
                };
                let value = self.io_value(el, p);
                list.push(IoParameter { name, value });
            }
        }
        for block in ext_named(el, Ns::Zeebe, "ioMapping") {
            for p in block.children.iter().filter(|c| c.ns == Ns::Zeebe) {
                let list = match p.name.as_str() {
                    "input" => &mut io.inputs,
                    "output" => &mut io.outputs,
                    _ => continue,
                };
                let Some(target) = non_empty(p.attr("target")).map(str::to_owned) else {
                    self.exec_problem(el, format!("{}: {} without target", describe(el), p.qname));
                    continue;
                };
                let value = match non_empty(p.attr("source")) {
                    Some(s) => IoValue::Expression(self.expr(el, &p.qname, s)),
                    None => IoValue::Null,
                };
                list.push(IoParameter {
                    name: target,
                    value,
                });
            }
        }
        io
    }

    /// The value of a parameter, list item, or map entry: nested list/map, text, or nothing.
    pub(super) fn io_value(&mut self, el: &El, p: &El) -> IoValue {
        if let Some(c) = p.children.iter().find(|c| c.ns == Ns::Camunda) {
            return match c.name.as_str() {
                "list" => IoValue::List(
                    c.children
                        .iter()
                        .filter(|v| v.ns == Ns::Camunda)
                        .map(|v| match v.name.as_str() {
                            "value" => self.io_text(el, v),
                            _ => self.io_value(el, &wrap(v)),
                        })
                        .collect(),
                ),
                "map" => IoValue::Map(
                    c.children_named(Ns::Camunda, "entry")
                        .map(|e| {
                            let key = e.attr("key").unwrap_or_default().to_owned();
                            (key, self.io_value(el, e))
                        })
                        .collect(),
                ),
                "script" => {
                    let what = format!("camunda:script in {}", p.qname);
                    match self.script_element(el, c, &what) {
                        Some(e) => IoValue::Expression(e),
                        None => IoValue::Null,
                    }
                }
                other => {
                    self.exec_problem(
                        el,
                        format!(
                            "{}: unexpected camunda:{other} in {}",
                            describe(el),
                            p.qname
                        ),
                    );
                    IoValue::Null
                }
            };
        }
        self.io_text(el, p)
    }

    pub(super) fn io_text(&mut self, el: &El, p: &El) -> IoValue {
        match non_empty(Some(&p.text)) {
            Some(t) => IoValue::Expression(self.expr(el, &p.qname, t)),
            None => IoValue::Null,
        }
    }
}

/// A `camunda:list`/`camunda:map` nested directly in a list, seen as a parameter holding it.
pub(super) fn wrap(v: &El) -> El {
    El {
        ns: Ns::Camunda,
        name: "value".to_owned(),
        qname: v.qname.clone(),
        attrs: Vec::new(),
        children: vec![v.clone()],
        text: String::new(),
        pos: v.pos,
        text_pos: None,
    }
}

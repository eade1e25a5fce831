//! `baton validate <file.bpmn>...`: parse and validate each file as a deployment would (with
//! the other files of its folder as script resources, and JavaScript syntax checked by the
//! embedded interpreter), and print every problem as `file:line:column: severity: message` (the format editors and CI
//! annotate). Exit 1 when any file has an error or cannot be read; warnings alone exit 0.

use std::path::PathBuf;
use std::process::ExitCode;

use baton_bpmn::parse::Severity;

/// `baton validate` arguments.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit code: 0 when every file is deployable (warnings are printed), \
1 when any file has an error.

Examples:
  baton validate examples/order/order.bpmn
  baton validate processes/*.bpmn --json"
)]
pub struct ValidateArgs {
    /// BPMN 2.0 XML files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// One JSON document: `[{"file", "ok", "problems": [{"severity", "line", "column",
    /// "message", "elementId"}]}]`.
    #[arg(long)]
    pub json: bool,
}

/// Largest script resource read from a model's folder.
const MAX_SCRIPT_RESOURCE: u64 = 1 << 20;

/// Parse options as a deployment of `file` with the other files of its folder would have:
/// those files as script resources (`camunda:resource`), and the JavaScript syntax check of
/// the embedded interpreter (compiled on the first script).
fn parse_options(
    file: &std::path::Path,
    check: Option<&std::sync::Arc<baton_bpmn::parse::JavaScriptCheck>>,
) -> baton_bpmn::parse::ParseOptions {
    let mut resources = std::collections::BTreeMap::new();
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
    let entries = std::fs::read_dir(dir.unwrap_or(std::path::Path::new(".")));
    // Bounded: one folder's direct entries, each read only when small and not a model.
    for entry in entries.into_iter().flatten().flatten().take(10_000) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let lower = name.to_ascii_lowercase();
        let small = entry
            .metadata()
            .is_ok_and(|m| m.is_file() && m.len() <= MAX_SCRIPT_RESOURCE);
        if !small || lower.ends_with(".bpmn") || lower.ends_with(".xml") || lower.ends_with(".wasm")
        {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(&path) {
            resources.insert(name, text);
        }
    }
    baton_bpmn::parse::ParseOptions {
        resources,
        check_javascript: check.cloned(),
    }
}

/// Run `baton validate`.
pub fn validate(args: &ValidateArgs) -> ExitCode {
    let mut failed = false;
    let mut report = Vec::new();
    // The interpreter for JavaScript syntax checks (compiled only if a script is met).
    let check: Option<std::sync::Arc<baton_bpmn::parse::JavaScriptCheck>> =
        match crate::wasm::WasmRuntime::new(crate::wasm::WasmConfig::default()) {
            Ok(rt) => {
                let scripts = std::sync::Arc::clone(rt.scripts());
                Some(std::sync::Arc::new(move |src: &str| scripts.check(src)))
            }
            Err(e) => {
                eprintln!("warning: JavaScript syntax is not checked: {e}");
                None
            }
        };
    for file in &args.files {
        let name = file.display().to_string();
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                failed = true;
                if args.json {
                    report.push(
                        serde_json::json!({"file": name, "ok": false, "error": e.to_string()}),
                    );
                } else {
                    eprintln!("{name}: error: cannot read: {e}");
                }
                continue;
            }
        };
        let options = parse_options(file, check.as_ref());
        let is_dmn = crate::engine::decisions::is_dmn(&name);
        let parsed = if is_dmn {
            // A DMN file is checked as a deployment checks it; its "processes" are decisions.
            baton_bpmn::dmn::parse(&bytes).map(|d| (Vec::new(), d.decisions.len()))
        } else {
            baton_bpmn::parse::parse_with(&bytes, &options).map(|parsed| {
                let n = parsed
                    .definitions
                    .processes
                    .iter()
                    .filter(|p| p.is_executable)
                    .count();
                (parsed.warnings, n)
            })
        };
        let (problems, ok, processes) = match parsed {
            Ok((warnings, n)) => (warnings, true, n),
            Err(e) => (e.problems, false, 0),
        };
        failed |= !ok;
        if args.json {
            report.push(serde_json::json!({"file": name, "ok": ok, "problems": problems}));
            continue;
        }
        for p in &problems {
            let severity = match p.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let line = format!("{name}:{}:{}: {severity}: {}", p.line, p.column, p.message);
            if p.severity == Severity::Error {
                eprintln!("{line}");
            } else {
                outln!("{line}");
            }
        }
        if ok && is_dmn {
            outln!("{name}: ok ({processes} decision(s))");
        } else if ok {
            outln!("{name}: ok ({processes} executable process(es))");
        }
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_else(|_| "[]".into())
        );
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

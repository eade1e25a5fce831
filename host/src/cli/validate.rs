//! `baton validate <file.bpmn>...`: parse and validate each file as a deployment would, and
//! print every problem as `file:line:column: severity: message` (the format editors and CI
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

/// Run `baton validate`.
pub fn validate(args: &ValidateArgs) -> ExitCode {
    let mut failed = false;
    let mut report = Vec::new();
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
        let (problems, ok, processes) = match baton_bpmn::parse(&bytes) {
            Ok(parsed) => (
                parsed.warnings,
                true,
                parsed
                    .definitions
                    .processes
                    .iter()
                    .filter(|p| p.is_executable)
                    .count(),
            ),
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
        if ok {
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

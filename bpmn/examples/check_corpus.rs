//! Parse every BPMN file under a directory and report one line per file.
//!
//! `cargo run -p baton-bpmn --example check_corpus -- [-v] <dir>` (`-v` also prints warnings)
//!
//! Files: `*.bpmn`, `*.bpmn20.xml` and `*.xml`, recursively. Prints
//! `ok <file> (N processes, M executable)` or `rejected <file>: <errors with line:column>`, then
//! a summary. Exits non-zero when the directory is missing or holds no such file, when a parse
//! panics, or when a rejected file has an error that names neither an element nor an
//! unsupported construct (CI runs this over the shared corpus: a vague rejection is a bug).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use baton_bpmn::parse::{Severity, parse};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "bpmn" || e == "xml") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with('-'))
        .map(PathBuf::from)
    else {
        eprintln!("usage: check_corpus [-v] <dir>");
        return ExitCode::from(2);
    };
    let mut files = Vec::new();
    if let Err(e) = collect(&dir, &mut files) {
        eprintln!("cannot read {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    files.sort();
    if files.is_empty() {
        eprintln!(
            "no .bpmn / .bpmn20.xml / .xml files under {}",
            dir.display()
        );
        return ExitCode::from(2);
    }
    let verbose = std::env::args().any(|a| a == "-v" || a == "--verbose");
    // The default hook would print a backtrace per panic; we report them ourselves.
    std::panic::set_hook(Box::new(|_| {}));
    let (mut ok, mut rejected, mut panics, mut vague) = (0, 0, 0, 0);
    for file in &files {
        let shown = file.strip_prefix(&dir).unwrap_or(file).display();
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                println!("unreadable {shown}: {e}");
                vague += 1;
                continue;
            }
        };
        match std::panic::catch_unwind(|| parse(&bytes)) {
            Err(_) => {
                println!("PANIC {shown}");
                panics += 1;
            }
            Ok(Ok(parsed)) => {
                ok += 1;
                let defs = &parsed.definitions;
                println!(
                    "ok {shown} ({} processes, {} executable{})",
                    defs.processes.len(),
                    defs.executable_processes().count(),
                    match parsed.warnings.len() {
                        0 => String::new(),
                        n => format!(", {n} warnings"),
                    }
                );
                if verbose {
                    for w in &parsed.warnings {
                        println!("    warning {w}");
                    }
                }
            }
            Ok(Err(err)) => {
                rejected += 1;
                let errors: Vec<_> = err
                    .problems
                    .iter()
                    .filter(|p| p.severity == Severity::Error)
                    .collect();
                // A message starting with `<x:tag>` names the element kind (elements without
                // an id have nothing else to name them by).
                let named = errors.iter().all(|p| {
                    p.element_id.is_some()
                        || p.message.contains("not supported")
                        || (p.message.starts_with('<') && p.message.contains("has no id"))
                });
                if !named {
                    vague += 1;
                }
                let first: Vec<String> = errors.iter().take(3).map(|p| p.to_string()).collect();
                let more = errors.len().saturating_sub(3);
                println!(
                    "rejected {shown}: {}{}{}",
                    first.join("; "),
                    if more > 0 {
                        format!(" (+{more} more)")
                    } else {
                        String::new()
                    },
                    if named {
                        ""
                    } else {
                        " [ERROR NAMES NO ELEMENT]"
                    }
                );
            }
        }
    }
    println!(
        "{} files: {ok} ok, {rejected} rejected, {panics} panics, {vague} rejections naming no \
         element",
        files.len()
    );
    if panics > 0 || vague > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

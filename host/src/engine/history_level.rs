//! The history level: how much of what happens the engine keeps after it happened, with
//! Camunda 7's four levels and their meaning (`camunda.bpm.history-level`).
//!
//! History is most of what a step writes (an activity row, two external task log entries,
//! a variable row and an update detail per variable): a user who never reads the external
//! task log or variable details should not pay for them on every step. The level is read at
//! each write site through the questions below, never compared by name elsewhere.

use std::fmt;
use std::str::FromStr;

/// How much history the engine writes. Ordered: each level keeps what the one below keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum HistoryLevel {
    /// Nothing: no historic process instances, activity instances, variables or logs.
    None,
    /// Process instances, activity instances (user tasks among them): what ran, when.
    Activity,
    /// `Activity` plus historic variable instances (each variable's latest value).
    Audit,
    /// Everything (default): `Audit` plus variable update details, the external task log,
    /// the job log, the identity link log, the user operation log and decision history.
    #[default]
    Full,
}

impl HistoryLevel {
    /// Historic process instances and activity instances are written.
    pub fn keeps_activities(self) -> bool {
        self >= HistoryLevel::Activity
    }

    /// Historic variable instances are written.
    pub fn keeps_variables(self) -> bool {
        self >= HistoryLevel::Audit
    }

    /// Details and logs are written: variable updates, external task, job and identity link
    /// logs, user operations, decision instances.
    pub fn keeps_details(self) -> bool {
        self == HistoryLevel::Full
    }

    /// Camunda's name of the level.
    pub fn name(self) -> &'static str {
        match self {
            HistoryLevel::None => "none",
            HistoryLevel::Activity => "activity",
            HistoryLevel::Audit => "audit",
            HistoryLevel::Full => "full",
        }
    }
}

impl fmt::Display for HistoryLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HistoryLevel {
    type Err = String;

    /// Camunda's names, in any case (`camunda.bpm.history-level: AUDIT` is common).
    fn from_str(s: &str) -> Result<HistoryLevel, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(HistoryLevel::None),
            "activity" => Ok(HistoryLevel::Activity),
            "audit" => Ok(HistoryLevel::Audit),
            "full" => Ok(HistoryLevel::Full),
            other => Err(format!(
                "history level must be `none`, `activity`, `audit` or `full`, not `{other}`"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_level_keeps_what_the_one_below_keeps() {
        let keeps =
            |l: HistoryLevel| (l.keeps_activities(), l.keeps_variables(), l.keeps_details());
        assert_eq!(keeps(HistoryLevel::None), (false, false, false));
        assert_eq!(keeps(HistoryLevel::Activity), (true, false, false));
        assert_eq!(keeps(HistoryLevel::Audit), (true, true, false));
        assert_eq!(keeps(HistoryLevel::Full), (true, true, true));
        assert_eq!(HistoryLevel::default(), HistoryLevel::Full);
    }

    #[test]
    fn camunda_names_parse_in_any_case() {
        assert_eq!("AUDIT".parse(), Ok(HistoryLevel::Audit));
        assert_eq!(" none ".parse(), Ok(HistoryLevel::None));
        for level in [
            HistoryLevel::None,
            HistoryLevel::Activity,
            HistoryLevel::Audit,
            HistoryLevel::Full,
        ] {
            assert_eq!(level.name().parse(), Ok(level));
        }
        let err = "auto"
            .parse::<HistoryLevel>()
            .expect_err("auto is no level");
        assert!(err.contains("not `auto`"), "{err}");
    }
}

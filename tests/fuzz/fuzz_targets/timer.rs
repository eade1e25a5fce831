//! Timer definitions (ISO 8601 dates, durations, repeating intervals, cron) and retry cycles:
//! parse, then compute due times near the ends of the representable range.
#![no_main]

use baton_bpmn::Value;
use baton_bpmn::timer::{self, RetrySchedule, TimerKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let nows = [0, 1_700_000_000_000, i64::MAX, i64::MIN, -1];
    let _ = timer::parse_date(text);
    if let Ok(d) = timer::parse_duration(text) {
        for now in nows {
            let _ = d.after(now);
        }
        let _ = d.approx_millis();
    }
    if let Ok(c) = timer::parse_cycle(text) {
        for now in nows {
            if let Some(first) = c.first_due(now) {
                let _ = c.next_due(first, 1);
            }
            let _ = c.next_due(now, u32::MAX);
        }
    }
    if let Ok(r) = RetrySchedule::parse(text) {
        for left in [0, 1, r.retries(), u32::MAX] {
            let _ = r.delay_ms(left);
        }
    }
    let value = Value::String(text.to_owned());
    for kind in [TimerKind::Date, TimerKind::Duration, TimerKind::Cycle] {
        let _ = timer::due_at(kind, &value, 1_700_000_000_000);
    }
});

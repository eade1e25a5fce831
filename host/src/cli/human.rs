//! Human-readable sizes and durations for the CLI's output (`1.5 KiB`, `+2d 00:00:00`).

/// `1.5 KiB`, `2.0 MiB`.
pub fn human_bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if f < K {
        format!("{n} B")
    } else if f < K * K {
        format!("{:.1} KiB", f / K)
    } else {
        format!("{:.1} MiB", f / K / K)
    }
}

/// `+0.123s`, `+2d 00:00:00` for times past a minute.
pub fn human_duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 60_000 {
        return format!("+{}.{:03}s", ms / 1000, ms % 1000);
    }
    let s = ms / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("+{d}d {h:02}:{m:02}:{sec:02}")
    } else {
        format!("+{h:02}:{m:02}:{sec:02}")
    }
}

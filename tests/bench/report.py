"""Turns the JSON lines of tests/bench/run.sh into a markdown table (with baton's ratio to each
peer, pair by pair) and an SVG bar chart of instances/s (log scale). Standard library only."""
import argparse
import datetime
import json
import math
import re

p = argparse.ArgumentParser()
p.add_argument("results")
p.add_argument("--docs")
p.add_argument("--svg")
p.add_argument("--command", default="tests/bench/run.sh")
p.add_argument("--machine", default="")
p.add_argument("--versions", default="")
a = p.parse_args()

rows = [json.loads(l) for l in open(a.results) if l.strip().startswith("{")]
models = ["one", "seq10", "par10", "loop100"]
engines = []
for r in rows:
    if r["engine"] not in engines:
        engines.append(r["engine"])
by = {(r["engine"], r["model"]): r for r in rows}
peers = [e for e in engines if not e.startswith("baton")]
batons = [e for e in engines if e.startswith("baton")]

lines = [
    f"Run {datetime.date.today().isoformat()} on {a.machine}; {a.versions}.",
    f"Command: `{a.command}`. Peers run in memory, one instance at a time; baton runs through its",
    "REST API with 8 starting clients and persists everything (durable unless marked relaxed).",
    "Latency (p50/p99) is per instance with one instance at a time for every engine (baton: its",
    "own `durationInMillis`, 1 ms resolution, over up to 100 instances after the throughput run).",
    "baton's CPU is its server process's over the throughput run (the scheduler's run time of its",
    "threads); its load generator's own is `client_cpu_s_per_1000` in the results file.",
    "",
    "| model | engine | instances | inst/s | p50 ms | p99 ms | peak RSS MiB | CPU s / 1000 inst | "
    + " | ".join(f"inst/s vs {p.split()[0]}" for p in peers) + " |",
    "|---|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(peers),
]
for m in models:
    for e in engines:
        r = by.get((e, m))
        if not r:
            continue
        ratios = []
        for pe in peers:
            pr = by.get((pe, m))
            if e.startswith("baton") and pr and pr["per_s"] > 0:
                ratios.append(f"{r['per_s'] / pr['per_s']:.2f}x")
            else:
                ratios.append("")
        lines.append(
            f"| {m} | {e} | {r['instances']} | {r['per_s']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['peak_rss_bytes'] / 2**20:.0f} | {r['cpu_s_per_1000']:.3f} | " + " | ".join(ratios) + " |"
        )
# Pair by pair: how many times better baton is on each figure (throughput: baton / peer;
# latency, memory and CPU: peer / baton). Below 1.00x baton loses that figure.
def better(mine, theirs, higher_is_better):
    if not mine or not theirs:
        return "n/a"
    return f"{(mine / theirs if higher_is_better else theirs / mine):.2f}x"

lines += [
    "",
    "Baton against each peer, pair by pair: how many times better baton is on each figure",
    "(inst/s: baton / peer; p50, p99, RSS, CPU: peer / baton). **Below 1.00x baton loses.**",
    "",
    "| model | baton mode | vs | inst/s | p50 | p99 | peak RSS | CPU / inst |",
    "|---|---|---|---:|---:|---:|---:|---:|",
]
for m in models:
    for b in batons:
        rb = by.get((b, m))
        if not rb:
            continue
        for pe in peers:
            rp = by.get((pe, m))
            if not rp:
                continue
            lines.append(
                f"| {m} | {b.removeprefix('baton ')} | {pe} | {better(rb['per_s'], rp['per_s'], True)} | "
                f"{better(rb['p50_ms'], rp['p50_ms'], False)} | {better(rb['p99_ms'], rp['p99_ms'], False)} | "
                f"{better(rb['peak_rss_bytes'], rp['peak_rss_bytes'], False)} | "
                f"{better(rb['cpu_s_per_1000'], rp['cpu_s_per_1000'], False)} |"
            )
table = "\n".join(lines) + "\n\n![instances/s per model](benchmarks-peers.svg)\n"
print(table)

if a.svg:
    W, H, pad, top = 760, 360, 60, 30
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    vals = [r["per_s"] for r in rows if r["per_s"] > 0] or [1]
    lo = 10 ** math.floor(math.log10(min(vals)))
    hi = 10 ** math.ceil(math.log10(max(vals)))
    y = lambda v: top + (H - top - pad) * (1 - (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))
    group = (W - 2 * pad) / len(models)
    bw = group / (len(engines) + 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H + 20 * len(engines)}" font-family="sans-serif" font-size="11">',
           f'<text x="{W/2}" y="18" text-anchor="middle" font-size="13">completed instances/s (log scale)</text>']
    d = math.log10(lo)
    while d <= math.log10(hi):
        v = 10 ** d
        out.append(f'<line x1="{pad}" x2="{W-pad}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
                   f'<text x="{pad-6}" y="{y(v)+4:.1f}" text-anchor="end">{v:g}</text>')
        d += 1
    for mi, m in enumerate(models):
        gx = pad + mi * group
        out.append(f'<text x="{gx + group/2:.1f}" y="{H - pad + 16}" text-anchor="middle">{m}</text>')
        for ei, e in enumerate(engines):
            r = by.get((e, m))
            if not r or r["per_s"] <= 0:
                continue
            x = gx + bw / 2 + ei * bw
            out.append(f'<rect x="{x:.1f}" y="{y(r["per_s"]):.1f}" width="{bw*0.9:.1f}" height="{H - pad - y(r["per_s"]):.1f}" fill="{colors[ei % len(colors)]}"><title>{e} {m}: {r["per_s"]:.1f}/s</title></rect>')
    for ei, e in enumerate(engines):
        ly = H + 4 + 20 * ei
        out.append(f'<rect x="{pad}" y="{ly}" width="12" height="12" fill="{colors[ei % len(colors)]}"/><text x="{pad+18}" y="{ly+10}">{e}</text>')
    out.append("</svg>")
    open(a.svg, "w").write("\n".join(out))

if a.docs:
    text = open(a.docs).read()
    block = "<!-- peers:begin -->\n" + table + "<!-- peers:end -->"
    if "<!-- peers:begin -->" in text:
        text = re.sub(r"<!-- peers:begin -->.*?<!-- peers:end -->", lambda _: block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    open(a.docs, "w").write(text)

#!/usr/bin/env python3
"""Turn the raw samples of a benchmark run (results.jsonl, one JSON object per run, written by
crates/dcc-bench) into docs/benchmarks.md and its charts.

Medians, never single times. Where runs alternate (ours, distcc, ours, ...), a ratio is the
median of the per-round ratios, so slow drift of the machine's load cancels out.

usage: report.py --results FILE --markdown FILE --charts DIR [--no-charts] [--smoke]
Standard library only, plus matplotlib for the charts.
"""

import argparse
import json
import os
import statistics
from collections import defaultdict

NAMES = {"ours": "distcc-rs", "distcc": "distcc 3.4"}
COLORS = {"ours": "#1f77b4", "distcc": "#ff7f0e", "gcc": "#7f7f7f",
          "ours-client+distcc-daemon": "#6baed6", "distcc-client+ours-daemon": "#fdae6b"}


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, digits=2, unit=""):
    if x is None:
        return "–"
    return f"{x:.{digits}f}{unit}"


def fmt_int(x):
    return "–" if x is None else f"{int(round(x)):,}".replace(",", " ")


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def paired(rows, key, num, den, value):
    """Median over rounds of value(num row) / value(den row), pairing rows by `key`."""
    by = defaultdict(dict)
    for r in rows:
        by[r[key]][r["_who"]] = r
    rs = [value(v[num]) / value(v[den]) for v in by.values()
          if num in v and den in v and value(v[den])]
    return med(rs)


class Report:
    def __init__(self, rows, smoke):
        self.rows = rows
        self.smoke = smoke
        self.meta = next((r for r in rows if r["section"] == "meta" and r["phase"] == "start"), {})
        self.summary = []  # (figure, distcc, ours, ratio, goal, verdict)

    def of(self, section, **kw):
        return [r for r in self.rows if r["section"] == section
                and all(r.get(k) == v for k, v in kw.items())]

    # ---- 1. loopback ------------------------------------------------------------------------
    def loopback(self):
        rows = self.of("loopback")
        if not rows:
            return None, {}
        out = ["## 1. Loopback overhead", "",
               "`make -j2` of each workload with plain gcc, and through client and daemon on "
               "127.0.0.1 (`DISTCC_HOSTS=127.0.0.1:PORT/2`, protocol 1, `--jobs 2`). The cost of "
               "distributing with nowhere to distribute to: every compile still runs on this "
               "machine, after a preprocess, a connection and two copies.", "",
               "| workload | units | build | median wall | × gcc | × distcc 3.4 stack | runs |",
               "|---|---|---|---|---|---|---|"]
        chart = {}
        for w in dict.fromkeys(r["workload"] for r in rows):
            wr = [dict(r, _who=r["way"]) for r in rows if r["workload"] == w]
            ways = list(dict.fromkeys(r["way"] for r in wr))
            wall = lambda r: r["wall_s"]
            for way in ways:
                xs = [r["wall_s"] for r in wr if r["way"] == way]
                vs_gcc = paired(wr, "round", way, "gcc", wall) if way != "gcc" else 1.0
                vs_deb = paired(wr, "round", way, "distcc", wall) if way not in ("gcc", "distcc") else None
                out.append(f"| {w} | {wr[0]['units']} | {label(way)} | {fmt(med(xs))} s "
                           f"(min {fmt(min(xs))}, max {fmt(max(xs))}) | {fmt(vs_gcc)} | "
                           f"{fmt(vs_deb)} | {len(xs)} |")
                chart[(w, way)] = vs_gcc
            d = paired(wr, "round", "distcc", "gcc", wall)
            o = paired(wr, "round", "ours", "gcc", wall)
            od = paired(wr, "round", "ours", "distcc", wall)
            self.summary.append((f"{w}: `make -j2` through loopback, wall time / gcc's", fmt(d),
                                 fmt(o), fmt(od), "ours/distcc ≤ 1.0" if w == "lua" else "",
                                 verdict(od, 1.0) if w == "lua" else ""))
        checks = self.of("loopback-check")
        bad = [c for c in checks if c["differing_objects"]]
        out += ["", "Objects: " + ("every distributed build's objects are byte-identical to "
                                   "gcc's." if not bad else
                                   "; ".join(f"{c['workload']} {label(c['way'])}: "
                                             f"{c['differing_objects']} objects differ from gcc's"
                                             for c in bad)), ""]
        return "\n".join(out), chart

    # ---- 2. master cost ---------------------------------------------------------------------
    def master(self):
        rows = self.of("master")
        if not rows:
            return None, {}
        per = defaultdict(lambda: defaultdict(list))  # config -> unit -> samples
        for r in rows:
            per[r["config"]][r["unit"]].append(r["cpu_ms"])
        units = sorted(per["local"])
        m = {c: {u: med(v) for u, v in d.items()} for c, d in per.items()}

        def mean_over_units(c, f=lambda u, x: x):
            vals = [f(u, m[c][u]) for u in units if u in m.get(c, {})]
            return sum(vals) / len(vals) if vals else None

        def ceiling(c):
            if c not in m:
                return None
            return sum(m["local"][u] for u in units) / sum(m[c][u] for u in units)

        cpp = mean_over_units("cpp")
        out = ["## 2. Master cost", "",
               f"lua at -O2, {len(units)} units, each run {max(r['round'] for r in rows) + 1} "
               "times in turn (local compile, `gcc -E`, then each client). CPU is user + system "
               "time from `wait4` (the client and the `gcc -E` it runs; the daemon's compile "
               "is in another process tree). Per unit the median is taken, then the mean over "
               "units.", "",
               f"- local compile (`gcc -c`): {fmt(mean_over_units('local'), 1)} ms CPU per unit",
               f"- preprocessing alone (`gcc -E`): {fmt(cpp, 1)} ms", "",
               "| client | protocol | master CPU per compile | client beyond cpp (subtraction) "
               "| client process alone (perf) | distribution ceiling |",
               "|---|---|---|---|---|---|"]
        chart = {}
        for c in [c for c in per if c not in ("local", "cpp") and not c.endswith("-own")]:
            who, proto = c.rsplit("-", 1)
            total = mean_over_units(c)
            beyond = mean_over_units(c, lambda u, x: x - m["cpp"][u])
            own = mean_over_units(c + "-own")
            out.append(f"| {NAMES.get(who, who)} | {proto} | {fmt(total, 2)} ms | "
                       f"{fmt(beyond, 2)} ms | {fmt(own, 2) + ' ms' if own else '–'} | "
                       f"{fmt(ceiling(c), 1)} |")
            chart[c] = (cpp, beyond, ceiling(c))
        o, d = "ours-plain", "distcc-plain"
        ob = mean_over_units(o, lambda u, x: x - m["cpp"][u])
        db = mean_over_units(d, lambda u, x: x - m["cpp"][u])
        self.summary.append(("Master CPU per compile, lua -O2 (cpp + client)",
                             fmt(mean_over_units(d), 2) + " ms", fmt(mean_over_units(o), 2) + " ms",
                             fmt(ratio(mean_over_units(o), mean_over_units(d))), "", ""))
        self.summary.append(("Client CPU per compile beyond preprocessing (distcc gcc -c − gcc -E)",
                             fmt(db, 2) + " ms", fmt(ob, 2) + " ms", fmt(ratio(ob, db)), "≤ 0.5 ms",
                             verdict(ob, 0.5)))
        if f"{o}-own" in m:
            oo, do = mean_over_units(f"{o}-own"), mean_over_units(f"{d}-own")
            self.summary.append(("Client process alone per compile (perf task-clock, incl. exec)",
                                 fmt(do, 2) + " ms", fmt(oo, 2) + " ms", fmt(ratio(oo, do)), "", ""))
        self.summary.append(("Distribution ceiling, lua -O2 (local compile CPU / master CPU)",
                             fmt(ceiling(d), 1), fmt(ceiling(o), 1), fmt(ratio(ceiling(o), ceiling(d))),
                             "", ""))
        cg = self.of("callgrind")
        if cg:
            ci = defaultdict(list)
            for r in cg:
                ci[r["client"]].append(r["instructions"])
            cu = sorted({r["unit"] for r in cg})
            oi, di = (sum(ci[k]) / len(ci[k]) if ci[k] else None for k in ("ours", "distcc"))
            out += ["", f"Instructions of the client process alone (callgrind, user space, "
                    f"children not traced), mean over {len(cu)} units ({', '.join(cu)}): "
                    f"distcc 3.4 {fmt_int(di)}, ours {fmt_int(oi)}."]
            self.summary.append(("Client instructions per compile (callgrind, user space)",
                                 fmt_int(di), fmt_int(oi), fmt(ratio(oi, di)), "", ""))
        out += ["", "*Client beyond cpp* is the issue's definition (CPU of `distcc gcc -c` minus "
                "CPU of the same `gcc -E`, per unit); it includes starting the client process "
                "and forking the preprocessor. *Client process alone* is `perf stat "
                "--no-inherit`: the client's own task-clock, exec and dynamic loading included, "
                "children excluded. *Distribution ceiling* is local compile CPU / master CPU "
                "under distribution: how many remote cores one master core can keep busy.", ""]
        return "\n".join(out), chart

    # ---- 3. wire ----------------------------------------------------------------------------
    def wire(self):
        rows = self.of("wire")
        if not rows:
            return None, {}
        out = ["## 3. Wire", "",
               "Payload bytes per build, counted by a TCP proxy between each full stack's client "
               "and daemon (one build each: the bytes do not vary). Up: client to daemon "
               "(preprocessed source); down: daemon to client (object, messages).", "",
               "| workload | stack | protocol | bytes up | bytes down | total | total / plain |",
               "|---|---|---|---|---|---|---|"]
        chart = {}
        for w in dict.fromkeys(r["workload"] for r in rows):
            wr = [r for r in rows if r["workload"] == w]
            plain = {r["impl"]: r["bytes_up"] + r["bytes_down"] for r in wr if r["protocol"] == "plain"}
            for r in wr:
                t = r["bytes_up"] + r["bytes_down"]
                out.append(f"| {w} ({r['units']} units) | {NAMES[r['impl']]} | {r['protocol']} | "
                           f"{fmt_int(r['bytes_up'])} | {fmt_int(r['bytes_down'])} | {fmt_int(t)} | "
                           f"{fmt(ratio(t, plain.get(r['impl'])))} |")
                chart[(w, r["impl"], r["protocol"])] = (r["bytes_up"], r["bytes_down"])
            for proto in ("plain", "lzo"):
                d = next((r for r in wr if r["impl"] == "distcc" and r["protocol"] == proto), None)
                o = next((r for r in wr if r["impl"] == "ours" and r["protocol"] == proto), None)
                if d and o:
                    self.summary.append((f"{w}: bytes per build, {proto} (up + down)",
                                         mib(d["bytes_up"] + d["bytes_down"]),
                                         mib(o["bytes_up"] + o["bytes_down"]),
                                         fmt(ratio(o["bytes_up"] + o["bytes_down"],
                                                   d["bytes_up"] + d["bytes_down"])), "", ""))
            z = next((r for r in wr if r["impl"] == "ours" and r["protocol"] == "zstd"), None)
            if z:
                self.summary.append((f"{w}: bytes per build, ours' zstd (up + down)", "–",
                                     mib(z["bytes_up"] + z["bytes_down"]), "", "", ""))
        out.append("")
        return "\n".join(out), chart

    # ---- 4. daemon --------------------------------------------------------------------------
    def daemon(self):
        rows = self.of("throughput")
        mem = self.of("memory")
        if not rows and not mem:
            return None, {}
        out = ["## 4. Daemon", ""]
        chart = {}
        if rows:
            r0 = rows[0]
            out += [f"A trivial unit (`int trivial(int x) {{ return x + 1; }}`), sent over "
                    f"{r0['concurrency']} connections at once to each daemon "
                    f"(`--jobs {mem[0]['jobs_option'] if mem else '?'}`). *Daemon alone, gcc*: a "
                    "load generator speaks protocol 1 directly (no client cost) and the daemon "
                    "runs gcc, whose own ~10 ms of CPU per job dominates. *Daemon alone, null "
                    "compiler*: the same, but the compiler is a stand-in that writes its object "
                    "at once: what remains is the daemon's own cost per job. *Full stack*: "
                    "`make -j` through each client to its own daemon, with gcc.", "",
                    "| load | jobs per round | distcc 3.4 jobs/s | ours jobs/s | wall time ours / distcc | rounds |",
                    "|---|---|---|---|---|---|"]
            for drv, name in (("raw", "daemon alone, gcc"), ("null", "daemon alone, null compiler"),
                              ("client", "full stack, gcc")):
                dr = [dict(r, _who=r["impl"]) for r in rows if r["driver"] == drv]
                if not dr:
                    continue
                o = med([r["jobs_per_s"] for r in dr if r["impl"] == "ours"])
                d = med([r["jobs_per_s"] for r in dr if r["impl"] == "distcc"])
                wr = paired(dr, "round", "ours", "distcc", lambda r: r["wall_s"])
                out.append(f"| {name} | {dr[0]['jobs']} | {fmt(d, 0)} | {fmt(o, 0)} | {fmt(wr)} | "
                           f"{len(dr) // 2} |")
                chart[drv] = (d, o)
                goal = drv in ("raw", "null")
                self.summary.append((f"Trivial unit, {name}: jobs/s (ratio: wall time)", fmt(d, 0),
                                     fmt(o, 0), fmt(wr), "≤ 0.9" if goal else "",
                                     verdict(wr, 0.9) if goal else ""))
        if mem:
            out += ["", "Memory: the sum of VmRSS over the daemon's processes (Debian's parent "
                    "and pre-forked workers; not the compilers). Idle: a second after start; "
                    "peak: sampled every 10 ms during the daemon-alone rounds.", "",
                    "| | distcc 3.4 | ours |", "|---|---|---|"]
            idle = {r["impl"]: r for r in mem if r["phase"] == "idle"}
            after = {r["impl"]: r for r in mem if r["phase"] == "idle-after-load"}
            peak = {i: max((r["peak_rss_kib"] for r in rows
                            if r["impl"] == i and r["driver"] in ("raw", "null")), default=None)
                    for i in ("ours", "distcc")}

            def cell(r):
                if not r:
                    return "–"
                n = r["processes"]
                return f"{mib_k(r['rss_kib'])} ({n} process{'es' if n != 1 else ''})"
            out.append(f"| idle | {cell(idle.get('distcc'))} | {cell(idle.get('ours'))} |")
            out.append(f"| peak under load | {mib_k(peak['distcc'])} | {mib_k(peak['ours'])} |")
            out.append(f"| idle after load | {cell(after.get('distcc'))} | {cell(after.get('ours'))} |")
            oi = idle.get("ours", {}).get("rss_kib")
            di = idle.get("distcc", {}).get("rss_kib")
            self.summary.append(("Daemon idle memory (`--jobs 4`, all processes)", mib_k(di),
                                 mib_k(oi), fmt(ratio(oi, di)), "≤ 5 MiB",
                                 verdict(oi / 1024 if oi else None, 5.0)))
            self.summary.append(("Daemon peak memory under trivial load", mib_k(peak["distcc"]),
                                 mib_k(peak["ours"]), fmt(ratio(peak["ours"], peak["distcc"])), "", ""))
            chart["memory"] = {k: (idle.get(k, {}).get("rss_kib"), peak[k]) for k in ("distcc", "ours")}
        out.append("")
        return "\n".join(out), chart

    # ---- 5. farm ----------------------------------------------------------------------------
    def farm(self):
        rows = self.of("farm")
        if not rows:
            return None, {}
        r0 = rows[0]
        out = ["## 5. Farm simulation", "",
               f"Helpers are distccd processes in their own network namespaces on a private "
               f"bridge, `--jobs {r0['slots_per_helper']}` each; their only compiler is a stand-in "
               f"that sleeps {r0['sleep_ms']} ms and writes a fixed object, so the two cores "
               f"here can play a large farm. The master runs `make -jN` (N = all slots) over "
               f"{r0['jobs']} preprocessed units (`.i`, no cpp) with every helper in "
               f"`DISTCC_HOSTS` as `IP/{r0['slots_per_helper']}`. Ideal = jobs × time / slots. "
               "*Killed*: the first helper in the list gets SIGKILL a third of the way into the "
               "ideal time; clients may then compile locally (`DISTCC_FALLBACK=1`).", "",
               "| helpers × slots | variant | stack | median makespan | ideal | makespan / ideal "
               "| master CPU | local fallbacks | jobs per live helper | runs |",
               "|---|---|---|---|---|---|---|---|---|---|"]
        chart = {}
        keys = list(dict.fromkeys((r["helpers"], r["killed"]) for r in rows))
        for (n, killed) in keys:
            for imp in ("distcc", "ours"):
                rs = [r for r in rows if r["helpers"] == n and r["killed"] == killed and r["impl"] == imp]
                if not rs:
                    continue
                ratio_m = med([r["ratio"] for r in rs])
                chart[(n, killed, imp)] = ratio_m
                out.append(f"| {n} × {rs[0]['slots_per_helper']} | "
                           f"{'one killed' if killed else 'all up'} | {NAMES[imp]} | "
                           f"{fmt(med([r['makespan_s'] for r in rs]))} s | {fmt(rs[0]['ideal_s'])} s | "
                           f"{fmt(ratio_m)} | {fmt(med([r['master_cpu_s'] for r in rs]), 1)} s | "
                           f"{fmt(med([r['local'] for r in rs]), 0)} | "
                           f"{min(r['min_per_helper'] for r in rs)}–{max(r['max_per_helper'] for r in rs)} | "
                           f"{len(rs)} |")
            d, o = chart.get((n, killed, "distcc")), chart.get((n, killed, "ours"))
            self.summary.append((f"Farm {n} × {r0['slots_per_helper']}{', one helper killed' if killed else ''}: "
                                 "makespan / ideal", fmt(d), fmt(o), fmt(ratio(o, d)), "", ""))
        out.append("")
        return "\n".join(out), chart


def label(way):
    return {"gcc": "gcc alone", "ours": "distcc-rs", "distcc": "distcc 3.4",
            "ours-client+distcc-daemon": "our client → distccd 3.4",
            "distcc-client+ours-daemon": "distcc 3.4 client → our distccd"}.get(way, way)


def verdict(x, goal):
    if x is None:
        return ""
    return "met" if x <= goal else "**not met**"


def gib(meminfo):
    """`24684084 kB` (from /proc/meminfo) as GiB."""
    try:
        return f"{int(meminfo.split()[0]) / 1048576:.0f} GiB"
    except (AttributeError, ValueError, IndexError):
        return str(meminfo)


def mib(b):
    return "–" if b is None else f"{b / 1048576:.2f} MiB"


def mib_k(kib):
    return "–" if kib is None else f"{kib / 1024:.1f} MiB"


# ---- charts -------------------------------------------------------------------------------

def charts(outdir, loop, master, wire, daemon, farm):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    made = []
    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False})

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, name), dpi=90)
        plt.close(fig)
        made.append(name)

    if loop:
        ws = list(dict.fromkeys(w for w, _ in loop))
        ways = [w for w in ("ours", "distcc", "ours-client+distcc-daemon", "distcc-client+ours-daemon")
                if any((x, w) in loop for x in ws)]
        fig, ax = plt.subplots(figsize=(7, 3.2))
        width = 0.8 / len(ways)
        for i, way in enumerate(ways):
            xs = [j + i * width for j, w in enumerate(ws) if (w, way) in loop]
            ys = [loop[(w, way)] for w in ws if (w, way) in loop]
            ax.bar(xs, ys, width, label=label(way), color=COLORS.get(way))
        ax.axhline(1.0, color="black", lw=0.8, ls="--")
        ax.set_xticks([j + width * (len(ways) - 1) / 2 for j in range(len(ws))], ws)
        ax.set_ylabel("wall time / gcc's (median)")
        ax.set_ylim(0, max(v for v in loop.values() if v) * 1.3)
        ax.set_title("Loopback: make -j2 through client and daemon on 127.0.0.1")
        ax.legend(fontsize=7, ncol=2, loc="upper right")
        save(fig, "loopback.png")
    if master:
        cs = list(master)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.4))
        cpp = [master[c][0] for c in cs]
        cl = [master[c][1] for c in cs]
        names = [c.replace("ours-", "rs ").replace("distcc-", "3.4 ") for c in cs]
        colors = [COLORS["ours" if c.startswith("ours") else "distcc"] for c in cs]
        a1.bar(names, cpp, color="#bbbbbb")
        a1.bar(names, cl, bottom=cpp, color=colors)
        from matplotlib.patches import Patch
        a1.legend(handles=[Patch(color="#bbbbbb", label="gcc -E"),
                           Patch(color=COLORS["ours"], label="client: distcc-rs"),
                           Patch(color=COLORS["distcc"], label="client: distcc 3.4")], fontsize=7)
        a1.set_ylabel("ms CPU per compile (lua, mean)")
        a1.set_title("Master CPU per compile")
        a1.tick_params(axis="x", labelrotation=30)
        a2.bar(names, [master[c][2] for c in cs], color=colors)
        a2.set_ylabel("local compile CPU / master CPU")
        a2.set_title("Distribution ceiling")
        a2.tick_params(axis="x", labelrotation=30)
        save(fig, "master.png")
    if wire:
        ws = list(dict.fromkeys(w for w, _, _ in wire))
        fig, axes = plt.subplots(1, len(ws), figsize=(4.2 * len(ws), 3.4), squeeze=False)
        for ax, w in zip(axes[0], ws):
            ks = [k for k in wire if k[0] == w]
            names = [f"{'rs' if i == 'ours' else '3.4'}\n{p}" for _, i, p in ks]
            up = [wire[k][0] / 1048576 for k in ks]
            down = [wire[k][1] / 1048576 for k in ks]
            ax.bar(names, up, label="up (source)", color="#1f77b4")
            ax.bar(names, down, bottom=up, label="down (object)", color="#aec7e8")
            ax.set_ylabel("MiB per build")
            ax.set_title(f"Wire bytes per {w} build")
            ax.legend(fontsize=7)
            ax.tick_params(axis="x", labelsize=7)
        save(fig, "wire.png")
    if daemon:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.2))
        drivers = [d for d in ("raw", "null", "client") if d in daemon]
        for i, imp in enumerate(("distcc", "ours")):
            a1.bar([j + i * 0.4 for j in range(len(drivers))], [daemon[d][i] or 0 for d in drivers], 0.4,
                   label=NAMES[imp], color=COLORS[imp])
        a1.set_xticks([j + 0.2 for j in range(len(drivers))],
                      [{"raw": "daemon alone\ngcc", "null": "daemon alone\nnull compiler",
                        "client": "full stack\ngcc"}[d] for d in drivers])
        a1.set_yscale("log")
        a1.set_ylabel("trivial jobs per second (median, log)")
        a1.set_title("Throughput")
        a1.legend(fontsize=7)
        if "memory" in daemon:
            memo = daemon["memory"]
            for i, imp in enumerate(("distcc", "ours")):
                idle, peak = memo[imp]
                a2.bar([i * 0.4, 1 + i * 0.4], [(idle or 0) / 1024, (peak or 0) / 1024], 0.4,
                       label=NAMES[imp], color=COLORS[imp])
            a2.set_xticks([0.2, 1.2], ["idle", "peak under load"])
            a2.set_ylabel("MiB RSS, all daemon processes")
            a2.set_title("Memory (--jobs 4)")
        save(fig, "daemon.png")
    if farm:
        ks = list(dict.fromkeys((n, k) for n, k, _ in farm))
        fig, ax = plt.subplots(figsize=(7, 3.2))
        for i, imp in enumerate(("distcc", "ours")):
            ax.bar([j + i * 0.4 for j in range(len(ks))], [farm.get((n, k, imp)) or 0 for n, k in ks], 0.4,
                   label=NAMES[imp], color=COLORS[imp])
        ax.axhline(1.0, color="black", lw=0.8, ls="--")
        ax.set_xticks([j + 0.2 for j in range(len(ks))],
                      [f"{n} helpers{' (one killed)' if k else ''}" for n, k in ks])
        ax.set_ylabel("makespan / ideal (median)")
        ax.set_title("Farm simulation")
        ax.legend(fontsize=7)
        save(fig, "farm.png")
    return made


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--charts", required=True)
    ap.add_argument("--no-charts", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    rows = load(a.results)
    rep = Report(rows, a.smoke)
    parts = [rep.loopback(), rep.master(), rep.wire(), rep.daemon(), rep.farm()]
    made = []
    if not a.no_charts:
        os.makedirs(a.charts, exist_ok=True)
        made = charts(a.charts, *(p[1] for p in parts))
    rel = os.path.relpath(a.charts, os.path.dirname(os.path.abspath(a.markdown)))
    m = rep.meta
    sections = {r["name"]: r for r in rows if r["section"] == "section"}
    total = sum(r["elapsed_s"] for r in sections.values())
    durations = ", ".join(f"{k} {v['elapsed_s']:.0f} s" for k, v in sections.items())
    loads = ", ".join(f"{k} {v['load1_before']:.1f}" for k, v in sections.items())
    doc = ["# Benchmarks", ""]
    if a.smoke:
        doc += ["**Smoke run: tiny repetitions, timings meaningless. Not for publication.**", ""]
    doc += ["distcc-rs against Debian's distcc 3.4, measured in the same run on the same machine, "
            "runs alternating (ours, distcc, ours, ...). Every figure is a median; ratios are "
            "medians of per-round ratios. Regenerate this page, its charts and the raw samples "
            f"(`{rel}/results.jsonl`) with one command: `bash bench/run.sh` "
            "(knobs: bench/README.md). Every distributed build ran with `DISTCC_FALLBACK=0` "
            "and was checked against the daemon's `COMPILE_OK` count, so no figure is a "
            "silent local compile.", "",
            "| run | |", "|---|---|",
            f"| date | {m.get('date', '?')} |",
            f"| machine | {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {gib(m.get('memory'))} RAM; "
            f"{m.get('os', '?')}, {m.get('kernel', '?')} |",
            f"| compiler | {m.get('gcc', '?')} |",
            f"| distcc 3.4 | Debian package {m.get('distcc_package', '?')} (`{m.get('distcc_version', '?')}`) |",
            f"| distcc-rs | commit {m.get('commit', '?')}{' + uncommitted changes' if m.get('dirty') else ''}, "
            f"{m.get('profile', '?')} build, {m.get('rustc', '?')} |",
            f"| load average (1 min) | {fmt(m.get('load1'))} at the start; before each section: {loads} "
            "(other work on the machine shows in every timing; the benchmarks' own processes count "
            "too, the farm's most) |",
            f"| duration | {fmt(total / 60, 1)} min ({durations}) |",
            "", "## Summary", "",
            "| figure | distcc 3.4 | distcc-rs | ours / distcc | goal | |",
            "|---|---|---|---|---|---|"]
    for f, d, o, r, g, v in rep.summary:
        doc.append(f"| {f} | {d} | {o} | {r} | {g} | {v} |")
    doc.append("")
    chart_names = {"loopback": "loopback.png", "master": "master.png", "wire": "wire.png",
                   "daemon": "daemon.png", "farm": "farm.png"}
    titles = {"loopback": "1. Loopback overhead", "master": "2. Master cost", "wire": "3. Wire",
              "daemon": "4. Daemon", "farm": "5. Farm simulation"}
    for (text, _), key in zip(parts, ["loopback", "master", "wire", "daemon", "farm"]):
        if text is None:
            doc += [f"## {titles[key]}", "", "Not run (section skipped).", ""]
            continue
        doc.append(text)
        if chart_names[key] in made:
            doc += [f"![{key}]({rel}/{chart_names[key]})", ""]
    doc += ["## Method", "",
            "- Runs alternate between the implementations within each round, so a change in the "
            "machine's load hits both; each ratio is the median of per-round ratios.",
            "- CPU time is user + system time from `wait4(2)`, which covers a process and every "
            "descendant it waited for.",
            "- Our binaries are the workspace's release build; Debian's are /usr/bin/distcc and "
            "/usr/bin/distccd. Our daemon reads its compiler whitelist from "
            "`DISTCC_RS_WHITELIST_DIR`; Debian's from /usr/lib/distcc (the farm's stand-in "
            "`sleep-gcc` is linked there for the run only).",
            "- Daemons run as they do for users: started as root, they drop to the `distccd` "
            "user; logs at info level on both sides.",
            "- The harness is crates/dcc-bench (one module per section); the report is "
            "bench/report.py. `bash bench/run.sh --smoke` runs every step with tiny sizes in CI "
            "and never checks a timing.", ""]
    # Hand-written notes (measurements this harness does not make) live beside the charts as
    # .md files; the generated page links them so that they survive regeneration.
    notes = sorted(f for f in os.listdir(a.charts) if f.endswith(".md")) \
        if os.path.isdir(a.charts) else []
    if notes:
        doc += ["## Hand-written notes", ""]
        doc += [f"- [{n[:-3]}]({rel}/{n})" for n in notes]
        doc.append("")
    with open(a.markdown, "w") as f:
        f.write("\n".join(doc))
    print(f"wrote {a.markdown}" + (f" and {len(made)} charts in {a.charts}" if made else ""))


if __name__ == "__main__":
    main()

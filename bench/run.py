#!/usr/bin/env python3
"""The benchmark suite (bench/run.sh): runs every workload of bench/README.md and writes
bench/results.json (every run) and bench/RESULTS.md (tables, regenerated).

  bash bench/run.sh            # the full suite, ~15 minutes on 2 quiet cores
  bash bench/run.sh --scale 0.3  # every event count x 0.3 (a busy machine)
  bash bench/run.sh --smoke    # every workload on tiny inputs, under a minute; writes
                               # build/bench-smoke/
  bash bench/run.sh --out DIR  # results.json and RESULTS.md into DIR instead of bench/

Whole jobs run as `segflow run` processes (output to a discarding sink, dead letters to
/dev/null); events/s is events / the runner's "finished in" time; CPU seconds and peak RSS
come from the process's rusage. Per-core figures are events per CPU second (user + system),
as the Nexmark runs report throughput / CPU cores used. No assertion on any figure.
"""
import argparse
import copy
import datetime
import gzip
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEGFLOW = os.path.join(ROOT, "build/release/segflow")
BENCH = os.path.join(ROOT, "build/release/bench/segflow_bench")

# Flink's published Nexmark figures, events/s per core ("Throughput/Cores" = events /
# (CPU cores used x seconds), the metric this suite reports as events per CPU second).
FLINK_SOURCE = (
    "V1: https://github.com/nexmark/nexmark README, \"Nexmark Benchmark Result\" (Flink 1.13, "
    "3 workers x 8 cores, parallelism 8, 100M events generated at 10M/s, RocksDB state, "
    "exactly-once checkpoints every 3 min), column Throughput/Cores. V2 (Flink 2.x runner): "
    "the figures quoted in segflow issue 9 from the same repository (q0 2.65M events/s on "
    "7 cores, q5 920K on 12.35, q7 262K on 11.45, q11 428K on 9.29), not re-checked here")
FLINK_PER_CORE = {
    "q0": {"v1": 155_000, "v2": 379_000},
    "q1": {"v1": 158_000},
    "q2": {"v1": 175_000},
    "q5": {"v1": 22_100, "v2": 74_500},
    "q7": {"v1": 12_300, "v2": 22_900},
    "q11": {"v1": 39_700, "v2": 46_100},
}
QUERIES = ["q0", "q1", "q2", "q5", "q7", "q11"]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()


def machine_facts():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    compiler = "unknown"
    cache = os.path.join(ROOT, "build/release/CMakeCache.txt")
    if os.path.exists(cache):
        with open(cache) as f:
            m = re.search(r"^CMAKE_CXX_COMPILER:\w+=(.*)$", f.read(), re.M)
        if m:
            compiler = sh(f"{m.group(1)} --version | head -1")
    dirty = sh("git status --porcelain --untracked-files=no")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "compiler": compiler,
        "os": platform.platform(),
        "commit": sh("git rev-parse --short HEAD") + ("-dirty" if dirty else ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": os.getloadavg(),
    }


class Jobs:
    """Job files prepared for measuring: sinks swapped for `discard`, dead letters to
    /dev/null, then the workload's changes; written under build/bench/."""

    def __init__(self, out_dir):
        self.dir = out_dir
        os.makedirs(out_dir, exist_ok=True)

    def prepare(self, name, spec_path=None, spec=None, edit=None):
        if spec is None:
            with open(os.path.join(ROOT, spec_path)) as f:
                spec = yaml.safe_load(f)
        spec = copy.deepcopy(spec)
        spec["dead_letter"] = {"path": "/dev/null"}
        spec.pop("metrics", None)
        for i, sink in enumerate(spec.get("sinks", [])):
            kept = {k: sink[k] for k in ("id", "input", "inputs", "parallelism") if k in sink}
            spec["sinks"][i] = dict(kept, type="discard")
        if edit:
            edit(spec)
        path = os.path.join(self.dir, name + ".yaml")
        with open(path, "w") as f:
            yaml.safe_dump(spec, f, sort_keys=False)
        return path


def run_once(job):
    """One `segflow run`: wall seconds (runner), events in, CPU seconds, peak RSS (KiB)."""
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen([SEGFLOW, "run", job], cwd=ROOT, stdout=devnull,
                                stderr=subprocess.PIPE, text=True)
        stderr = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"segflow run {job} exited {proc.returncode}: {stderr[-2000:]}")
    secs = float(re.search(r"finished in ([0-9.]+) s", stderr).group(1))
    events = sum(int(m) for m in re.findall(r"source\s+out\s+(\d+)", stderr))
    # Records into the sinks (they emit nothing: "in N  out 0"): the job's results.
    results = sum(int(n) for n in re.findall(r"x\d+\s+in\s+(\d+)\s+out\s+0\b", stderr))
    dead = re.search(r"dead letters: (\d+)", stderr)
    sample = {"seconds": secs, "events": events, "results": results,
              "dead_letters": int(dead.group(1)) if dead else 0,
              "cpu_seconds": usage.ru_utime + usage.ru_stime,
              "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}
    chk = re.search(r"checkpoints: (\d+) completed(?: \(last id \d+, ([0-9.]+) MB)?", stderr)
    if chk:
        sample["checkpoints"] = int(chk.group(1))
        sample["checkpoint_mb"] = float(chk.group(2)) if chk.group(2) else 0.0
    return sample


def measure(job, runs, before_each=None):
    samples = []
    for _ in range(runs):
        if before_each:
            before_each()
        samples.append(run_once(job))
    rates = sorted(s["events"] / max(s["seconds"], 1e-9) for s in samples)
    per_cpu = sorted(s["events"] / max(s["cpu_seconds"], 1e-9) for s in samples)
    return {
        "events": samples[0]["events"],
        "results": samples[0]["results"],
        "dead_letters": samples[0]["dead_letters"],
        "runs": runs,
        "events_per_s": {"median": statistics.median(rates), "min": rates[0], "max": rates[-1]},
        "events_per_cpu_s": {"median": statistics.median(per_cpu), "min": per_cpu[0],
                             "max": per_cpu[-1]},
        "cpu_cores_used": statistics.median(s["cpu_seconds"] / s["seconds"] for s in samples),
        "peak_rss_mib": max(s["peak_rss_mib"] for s in samples),
        "samples": samples,
    } | ({"checkpoints": statistics.median(s["checkpoints"] for s in samples),
          "checkpoint_mb": max(s["checkpoint_mb"] for s in samples)}
         if "checkpoints" in samples[0] else {})


def try_measure(results, key, label, fn):
    log(f"  {label}")
    try:
        results[key] = fn()
        if "events_per_s" in results[key]:
            m = results[key]
            log(f"    {fmt(m['events_per_s']['median'])} events/s, "
                f"{fmt(m['events_per_cpu_s']['median'])} per CPU second, "
                f"{sum(s['seconds'] for s in m['samples']):.1f} s")
    except Exception as e:  # a workload that fails is reported, the rest still runs
        log(f"    FAILED: {e}")
        results[key] = {"error": str(e)[:500]}


def set_source(spec, **settings):
    for src in spec["sources"]:
        src.update(settings)


def nexmark(jobs, cfg):
    """Every query with checkpoints off, then on (exactly-once aligned checkpoints every
    cfg.checkpoint_interval, written under build/bench*/checkpoints/)."""
    out = {"off": {}, "on": {}}
    p = cfg.parallelism
    for mode in ("off", "on"):
        for q in QUERIES:
            def edit(spec, q=q, mode=mode):
                spec["parallelism"] = p
                set_source(spec, events=cfg.nexmark_events, parallelism=p)
                for sink in spec["sinks"]:
                    if "parallelism" in sink:
                        sink["parallelism"] = p
                if mode == "on":
                    spec["checkpoints"] = {"interval": cfg.checkpoint_interval,
                                           "dir": checkpoints, "retain": 1}
            checkpoints = os.path.normpath(os.path.join(jobs.dir, "..", "checkpoints", q))
            job = jobs.prepare(f"nexmark_{q}_checkpoints_{mode}", f"jobs/nexmark/{q}.yaml",
                               edit=edit)
            # A run left behind by an interrupted suite must not be resumed from.
            try_measure(out[mode], q, f"nexmark {q}, checkpoints {mode}",
                        lambda: measure(job, cfg.runs, before_each=lambda: shutil.rmtree(
                            checkpoints, ignore_errors=True)))
    return out


def retail_edit(cfg, users, parallelism, events):
    def edit(spec):
        spec["parallelism"] = parallelism
        set_source(spec, users=users, events=events)
    return edit


def segmentation(jobs, cfg):
    out = {}
    job = jobs.prepare("retail", "jobs/retail.yaml",
                       edit=retail_edit(cfg, cfg.profiles, cfg.parallelism, cfg.retail_events))
    try_measure(out, "retail", "segmentation jobs/retail.yaml", lambda: measure(job, cfg.runs))
    return out


# ---------------------------------------------------------------- real data

DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))


def shift_rees46(line, k):
    """A REES46 row k days later (event_time "YYYY-MM-DD ..." is the first column; the
    slice covers 00:00-02:50 of one day, so day-shifted copies stay in time order)."""
    day = datetime.date.fromisoformat(line[:10]) + datetime.timedelta(days=k)
    return day.isoformat() + line[10:]


def shift_taobao(line, k):
    """A Taobao row 90 days later per copy (epoch seconds in the last column; the file,
    dirty timestamps included, spans 83 days; the source sorts on load)."""
    head, _, ts = line.rstrip("\n").rpartition(",")
    return f"{head},{int(ts) + k * 90 * 86400}\n"


def shift_uci(line, k):
    """A UCI row k years later (InvoiceDate, the 5th column, "YYYY-..."; the file spans Dec
    2010 - Aug 2011 with no 29 February, so year-shifted copies stay in time order). Only
    Description may hold quoted commas, so the date is the 5th field from the right end."""
    fields = line.rsplit(",", 4)
    date = fields[1]
    fields[1] = str(int(date[:4]) + k) + date[4:]
    return ",".join(fields)


# The datasets of ../shared/data and the job whose file source decodes each, with the
# per-copy time shift used to make a longer replay out of several copies of the file.
DATASETS = [
    ("rees46", "jobs/rees46_replay.yaml", shift_rees46),
    ("taobao", "jobs/taobao_replay.yaml", shift_taobao),
    ("uci", "jobs/uci_replay.yaml", shift_uci),
]


def replay_file(path, copies, shift, out_dir):
    """The dataset file, or `copies` time-shifted copies of it back to back (same users,
    later times: returning customers), written once under out_dir (same compression)."""
    if copies <= 1:
        return path
    name = os.path.basename(path)
    out = os.path.join(out_dir, f"x{copies}-{name}")
    if os.path.exists(out):
        return out
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        header, rows = f.readline(), f.readlines()
    tmp = out + ".tmp"
    with (gzip.open(tmp, "wt", compresslevel=6, newline="") if path.endswith(".gz")
          else open(tmp, "w", newline="")) as f:
        f.write(header)
        for k in range(copies):
            f.writelines(rows if k == 0 else (shift(r, k) for r in rows))
    os.replace(tmp, out)
    return out


def count_rows(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return sum(1 for _ in f) - 1


def replays(jobs, cfg):
    """Each dataset through jobs/retail.yaml's segments (the replay job's file source in
    place of the generator) and through the same source into `discard` (decode only)."""
    out = {}
    with open(os.path.join(ROOT, "jobs/retail.yaml")) as f:
        retail = yaml.safe_load(f)
    data_dir = os.path.join(jobs.dir, "..", "data")
    os.makedirs(data_dir, exist_ok=True)
    for name, replay_job, shift in DATASETS:
        with open(os.path.join(ROOT, replay_job)) as f:
            source = yaml.safe_load(f)["sources"][0]
        original = os.path.normpath(os.path.join(ROOT, source["path"]))
        if not os.path.exists(original):
            out[name] = {"error": f"{original} missing"}
            continue
        rows = count_rows(original)
        copies = max(1, -(-cfg.replay_rows // rows))
        log(f"  preparing {name}: {copies} cop{'y' if copies == 1 else 'ies'} of {rows} rows")
        path = replay_file(original, copies, shift, data_dir)

        def through_retail(spec, source=source, path=path):
            spec["parallelism"] = cfg.parallelism
            spec["sources"] = [dict(source, id="events", path=path)]
        full = jobs.prepare(f"{name}_retail", spec=retail, edit=through_retail)

        def decode_only(spec, source=source, path=path):
            spec["operators"] = []
            spec["sources"] = [dict(source, id="events", path=path)]
            spec["sinks"] = [{"id": "out", "type": "discard", "input": "events"}]
        decode = jobs.prepare(f"{name}_decode_only", spec=retail, edit=decode_only)
        entry = {"file": os.path.relpath(original, ROOT), "rows": rows, "copies": copies}
        try_measure(entry, "retail", f"replay {name} through retail.yaml",
                    lambda: measure(full, cfg.runs))
        try_measure(entry, "decode_only", f"replay {name} decode only",
                    lambda: measure(decode, cfg.runs))
        out[name] = entry
    return out


# ---------------------------------------------------------------- scaling

SLIDE_KEYS = 20


def dense_events_file(events, out_dir):
    """CSV of `events` rows 1 ms apart, keys k0..k19 in turn (50 events/s per key), so a
    10 min window holds 30,000 events per key and the results (keys x span / slide) stay a
    small fraction of the input at every slide."""
    path = os.path.join(out_dir, f"dense-{events}.csv")
    if not os.path.exists(path):
        t0 = 1704067200000
        with open(path + ".tmp", "w") as f:
            f.write("key,time,price\n")
            f.writelines(f"k{i % SLIDE_KEYS},{t0 + i},{i % 997 / 10}\n" for i in range(events))
        os.replace(path + ".tmp", path)
    return path


def sliding_job(slide, path, cfg):
    return {
        "name": f"sliding_10m_{slide}",
        "parallelism": cfg.parallelism,
        "watermarks": {"out_of_orderness": "0s"},
        "sources": [{"id": "events", "type": "file", "path": path,
                     "csv": {"key": "key", "event": "Product Viewed",
                             "timestamp": {"column": "time", "format": "epoch_ms"},
                             "properties": {"price": "price"}}}],
        "operators": [{"id": "views", "type": "window", "input": "events",
                       "window": {"kind": "sliding", "size": "10m", "slide": slide},
                       "aggregates": [{"name": "views", "fn": "count"},
                                      {"name": "value", "fn": "sum",
                                       "property": "properties.price"}]}],
        "sinks": [{"id": "out", "type": "discard", "input": "views"}],
    }


def scaling(jobs, cfg):
    out = {"parallelism": {}, "keys": {}, "slide": {}}
    for p in cfg.parallelisms:
        job = jobs.prepare(f"retail_p{p}", "jobs/retail.yaml",
                           edit=retail_edit(cfg, 100_000, p, cfg.scaling_events))
        try_measure(out["parallelism"], f"retail/{p}", f"retail parallelism {p}",
                    lambda: measure(job, cfg.runs))

        def q5(spec, p=p):
            spec["parallelism"] = p
            set_source(spec, events=cfg.scaling_events, parallelism=p)
        job = jobs.prepare(f"q5_p{p}", "jobs/nexmark/q5.yaml", edit=q5)
        try_measure(out["parallelism"], f"nexmark_q5/{p}", f"nexmark q5 parallelism {p}",
                    lambda: measure(job, cfg.runs))
    for keys in cfg.key_counts:
        job = jobs.prepare(f"retail_keys{keys}", "jobs/retail.yaml",
                           edit=retail_edit(cfg, keys, cfg.parallelism, cfg.scaling_events))
        try_measure(out["keys"], str(keys), f"retail with {keys} profiles",
                    lambda: measure(job, cfg.runs))
    data_dir = os.path.join(jobs.dir, "..", "data")
    os.makedirs(data_dir, exist_ok=True)
    path = dense_events_file(cfg.scaling_events, data_dir)
    for slide in ["1m", "10s", "1s"]:
        job = jobs.prepare(f"sliding_{slide}", spec=sliding_job(slide, path, cfg))
        try_measure(out["slide"], slide, f"sliding 10m window, slide {slide}",
                    lambda: measure(job, cfg.runs))
    return out


# ---------------------------------------------------------------- segflow_bench

# Google Benchmark micro-benchmarks of the hot parts reported in RESULTS.md: what each
# measures (the benchmark names are in bench/*_bench.cpp).
MICRO = [
    ("EngineChannelThroughput", "channel push/pop between two threads (records)"),
    ("BM_SegmentDecode", "Segment JSON event decoding (~1 KB events)"),
    ("BM_CsvRowDecode", "CSV row decoding (REES46 rows)"),
    ("BM_FileSourceUci", "file source over the UCI gzip CSV (rows)"),
    ("EngineKeyGroupHash", "key-group hashing"),
    ("EngineValueStateIncrement/1000", "keyed state get/put, 1K keys"),
    ("EngineValueStateIncrement/100000", "keyed state get/put, 100K keys"),
    ("EngineBatchBuild", "building record batches"),
    ("WindowOperatorDirect/0/1000", "window update, tumbling 10 min, 1K keys (operator alone)"),
    ("WindowOperatorDirect/1/1000",
     "window update, sliding 10 min / 1 s, 1K keys, a window fired per key and second"),
    ("WindowOperatorDirect/0/1000000", "window update, tumbling 10 min, 1M keys (operator alone)"),
    ("SegmentsOperatorThroughput/1", "rule evaluation, 1 segment (operator alone)"),
    ("IdentityLookup/100000/0", "identity lookup, 100K identifiers"),
    ("IdentityLookup/10000000/0", "identity lookup, 10M identifiers"),
    ("BM_GeneratorPoll/1000000", "generator source, 1M users"),
    ("BM_RecordJson", "record to JSON (sinks)"),
]


RETAIL_MEMORY = "RetailPipelineFromMemory/{p}/iterations:1/real_time"


def segflow_bench(filter_regex, repetitions, env=None):
    """Runs segflow_bench; {run name: that run's fields} (the median when repeated)."""
    args = [BENCH, f"--benchmark_filter={filter_regex}", "--benchmark_format=json",
            f"--benchmark_repetitions={repetitions}", "--benchmark_min_time=0.05"]
    proc = subprocess.run(args, cwd=ROOT, env=dict(os.environ, **(env or {})),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"segflow_bench exited {proc.returncode}: {proc.stderr[-1000:]}")
    by_name = {}
    for b in json.loads(proc.stdout)["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if b.get("run_type") == "iteration" and b.get("repetitions", 1) > 1:
            continue
        by_name[b["run_name"]] = b
    return by_name


def micro_benchmarks(cfg):
    """The limit loops, the segments curve, the micro-benchmarks, state bytes per profile."""
    if not os.access(BENCH, os.X_OK):
        log("  segflow_bench not built (libbenchmark-dev missing?): skipped")
        return {"error": "segflow_bench not built"}
    out = {"limit_events": cfg.limit_events}
    micro = "|".join(f"^{re.escape(n)}(/real_time)?$" for n, _ in MICRO if n not in cfg.micro_skip)
    parts = [
        ("limit", "Limit", {"SEGFLOW_LIMIT_EVENTS": str(cfg.limit_events)}, cfg.runs),
        ("retail_memory", "RetailPipelineFromMemory",
         {"SEGFLOW_RETAIL_EVENTS": str(cfg.retail_events)}, cfg.runs),
        ("segments", "SegmentsOperatorThroughput", None, cfg.runs),
        ("micro", micro, None, cfg.runs),
        # One run each: a heap measurement, not a timing.
        ("state", "StateBytesPerProfile", None, 1),
    ]
    for key, regex, env, reps in parts:
        log(f"  segflow_bench {key}")
        try:
            out[key] = segflow_bench(regex, reps, env)
        except Exception as e:
            log(f"    FAILED: {e}")
            out[key] = {"error": str(e)[:500]}
    missing = [n for n, _ in MICRO if n not in cfg.micro_skip
               and not any(k in out.get("micro", {}) for k in (n, n + "/real_time"))]
    if missing:
        log(f"    FAILED: no result for {missing} (renamed in bench/*_bench.cpp?)")
        out["micro_missing"] = {"error": f"no result for {missing}"}
    return out


# ---------------------------------------------------------------- latency

LATENCY_METRIC = "segflow_end_to_end_latency_seconds"


# Workloads whose latency is measured: (name, job, source id, latency.sh options). Nexmark
# q1 (a map per bid) stands for the per-event queries; the window queries' results are
# caused by watermarks, not by an ingested event, so the histogram does not observe them.
LATENCY_WORKLOADS = [
    ("retail", "jobs/retail.yaml", "events", []),
    ("nexmark q1", "jobs/nexmark/q1.yaml", "nexmark",
     ["--duration", "10", "--warmup", "3", "--max-events", "20000000"]),
]


def latency_percentiles(cfg, job, source, options):
    """bench/latency.sh: the job's unpaced maximum, then p50/p99/p99.9 of the end-to-end
    latency histogram at 25/50/75 % of it (ms, medians over the runs)."""
    args = ["--smoke"] if cfg.smoke else ["--runs", str(cfg.runs), *options]
    args += ["--job", job, "--source", source]
    run = subprocess.run(["bash", os.path.join(ROOT, "bench/latency.sh"), *args], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    maximum = re.search(r"^maximum: (\d+) events/s", run.stdout, re.M)
    if maximum is None:
        raise RuntimeError("bench/latency.sh printed no maximum:\n" + run.stdout + run.stderr)
    rates = {}
    for m in re.finditer(r"^(\d+)%\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$", run.stdout, re.M):
        rates[m.group(1)] = {"events_per_s": int(m.group(2)), "p50_ms": float(m.group(3)),
                             "p99_ms": float(m.group(4)), "p99.9_ms": float(m.group(5)),
                             "observed": float(m.group(6))}
    if len(rates) != 3:
        raise RuntimeError("bench/latency.sh printed no percentiles:\n" + run.stdout)
    return {"max_events_per_s": int(maximum.group(1)), "rates": rates}


# ---------------------------------------------------------------- Markdown

def fmt(v):
    if v is None:
        return "—"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.1f}K"
    return f"{v:.0f}"


def rate_cells(m):
    if "error" in m:
        return ["failed", "", "", ""]
    r = m["events_per_s"]
    return [fmt(r["median"]), f"{fmt(r['min'])} – {fmt(r['max'])}",
            fmt(m["events_per_cpu_s"]["median"]), f"{m['peak_rss_mib']:.0f}"]


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def median_rate(m, per_cpu=False):
    if not m or "error" in m:
        return None
    return m["events_per_cpu_s" if per_cpu else "events_per_s"]["median"]


def bench_value(res, part, name, field="items_per_second"):
    return res["bench"].get(part, {}).get(name, {}).get(field)


def verdict(ok, figure):
    if ok is None:
        return "not measured", figure
    return ("**met**" if ok else "**missed**"), figure


def targets(res, cfg):
    """Issue 9's targets, each met or missed with the figure that decides it."""
    rows = []
    for mode in ("off", "on"):
        per_query = {q: median_rate(res["nexmark"][mode].get(q), per_cpu=True) for q in QUERIES}
        ratios = {q: v / max(FLINK_PER_CORE[q].values()) for q, v in per_query.items() if v}
        ok = None if len(ratios) < len(QUERIES) else all(r >= 10 for r in ratios.values())
        worst = min(ratios, key=ratios.get) if ratios else None
        figure = (f"lowest {worst} {ratios[worst]:.1f}× (per core {fmt(per_query[worst])} vs "
                  f"{fmt(max(FLINK_PER_CORE[worst].values()))})" if worst else "—")
        # A run too short for its first checkpoint measured nothing about checkpoints.
        uncheckpointed = [q for q, m in res["nexmark"][mode].items()
                          if mode == "on" and m and not m.get("checkpoints")]
        if uncheckpointed:
            ok, figure = None, "no checkpoint completed in " + ", ".join(uncheckpointed)
        rows.append([f"Nexmark ≥ 10× Flink's best per-core figure, checkpoints {mode}"
                     + (f" (every {cfg.checkpoint_interval})" if mode == "on" else ""),
                     *verdict(ok, figure)])
    retail = median_rate(res["segmentation"].get("retail"))
    decoded = bench_value(res, "retail_memory", RETAIL_MEMORY.format(p=cfg.parallelism))
    rows.append([f"Retail 1M events/s end to end from decoded events on "
                 f"{res['machine']['cores']} cores",
                 *verdict(None if decoded is None else decoded >= 1e6,
                          f"{fmt(decoded)} events/s from memory ({fmt(retail)} events/s with "
                          "the generator)")])
    half = res["latency"].get("retail", {}).get("rates", {}).get("50")
    rows.append(["Retail p99 latency < 5 ms at 50 % load",
                 *verdict(None if half is None else half["p99_ms"] < 5,
                          f"{half['p99_ms']:.1f} ms" if half else "—")])
    state = res["bench"].get("state", {})
    bpp = [b["bytes_per_profile"] for n, b in state.items()
           if n.startswith("RetailStateBytesPerProfile") and "bytes_per_profile" in b]
    rows.append(["Retail state < 1 KB per profile",
                 *verdict(max(bpp) < 1024 if bpp else None,
                          " / ".join(f"{v:.0f} B" for v in bpp) + " per profile" if bpp else "—")])
    par = res["scaling"]["parallelism"]
    for w in ("retail", "nexmark_q5"):
        best = max(filter(None, (median_rate(par.get(f"{w}/{p}")) for p in (1, 2))), default=None)
        worst_over = min(filter(None, (median_rate(par.get(f"{w}/{p}")) for p in (4, 8))),
                         default=None)
        ok = None if best is None or worst_over is None else worst_over >= 0.5 * best
        rows.append([f"{w}: no collapse oversubscribed (p=4/8 ≥ half the best of p=1/2)",
                     *verdict(ok, f"{fmt(worst_over)} vs {fmt(best)} events/s")])
    slide = res["scaling"]["slide"]
    s1m, s1s = median_rate(slide.get("1m")), median_rate(slide.get("1s"))
    rows.append(["Sliding 10 min window: cost flat in size / slide (1 s slide ≥ half of 1 min)",
                 *verdict(None if not (s1m and s1s) else s1s >= 0.5 * s1m,
                          f"{fmt(s1s)} vs {fmt(s1m)} events/s")])
    seg = res["bench"].get("segments", {})
    one = seg.get("SegmentsOperatorThroughput/1", {}).get("items_per_second")
    for bench, what in (("SegmentsOperatorThroughput", "the 10 rules an event touches read "
                         "the same window"),
                        ("SegmentsOperatorThroughputDistinctWindows", "each of the 10 rules an "
                         "event touches has its own window"),
                        ("SegmentsOperatorThroughputDistinctStates", "each of the 10 rules an "
                         "event touches keeps its own state")):
        thousand = seg.get(f"{bench}/1000", {}).get("items_per_second")
        rows.append([f"Segments: 1,000 segments ≥ 1/3 of 1 segment's rate (issue 4's target); "
                     + what,
                     *verdict(None if not (one and thousand) else thousand >= one / 3,
                              f"{thousand / one:.2f} of 1 segment" if one and thousand else "—")])
    lim = res["bench"].get("limit", {})
    for p, need in ((1, 0.5), (2, 1.0)):
        ratios = {}
        for w in ("Retail", "Q5", "Q7"):
            eng = lim.get(f"Limit{w}Engine/{p}/real_time", {}).get("items_per_second")
            loop = lim.get(f"Limit{w}Loop/real_time", {}).get("items_per_second")
            if eng and loop:
                ratios[w.lower()] = eng / loop
        ok = None if len(ratios) < 3 else all(r >= need for r in ratios.values())
        rows.append([f"Limit: engine at p={p} / hand-written loop ≥ {need}",
                     *verdict(ok, ", ".join(f"{w} {r:.2f}" for w, r in ratios.items()) or "—")])
    return table(["target", "result", "figure"], rows)


def markdown(res, cfg):
    m = res["machine"]
    out = ["# segflow benchmark results", "",
           "Generated by `bash bench/run.sh` (bench/run.py); do not edit by hand.", "",
           f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}",
           f"- Compiler: {m['compiler']}; build: `cmake --preset release` (-O3)",
           f"- Commit: {m['commit']}; measured {m['date']}; load average at start "
           f"{m['load_average_at_start'][0]:.1f} (1 min), at end "
           f"{res['load_average_at_end'][0]:.1f}; the suite took {res['suite_seconds']:.0f} s",
           "- Figures on a shared machine are noisy: compare ratios more than absolutes. "
           "Regenerate on a quiet machine with `bash bench/run.sh`.",
           f"- Event counts scaled by {cfg.scale} (`--scale`); each figure: median of "
           f"{cfg.runs} runs (min – max); events/s = events / job wall time; per core = "
           "events / CPU second (user + system) of the process; peak RSS of the process.", ""]

    out += ["## Targets (issue 9)", "", targets(res, cfg), ""]

    out += ["## Nexmark", "",
            f"`jobs/nexmark/q*.yaml`, {fmt(cfg.nexmark_events)} events (2 % persons, 6 % "
            f"auctions, 92 % bids) from the `nexmark` source at 10M events/s of event time, "
            f"parallelism {cfg.parallelism}, sink `discard`; every query without checkpoints "
            f"and with exactly-once aligned checkpoints every {cfg.checkpoint_interval} "
            "(heap state, written and fsynced under build/bench/checkpoints; Flink's runs took "
            "one every 3 min on RocksDB, so these runs checkpoint far more often).", ""]
    rows = []
    for q in QUERIES:
        flink = FLINK_PER_CORE[q]
        best = max(flink.values())
        for mode in ("off", "on"):
            r = res["nexmark"][mode].get(q, {"error": "not run"})
            per_core = median_rate(r, per_cpu=True)
            chk = (f"{r.get('checkpoints', 0):.0f} ({r.get('checkpoint_mb', 0):.1f} MB)"
                   if mode == "on" and "error" not in r else "—")
            rows.append([q, mode, chk] + rate_cells(r) + [
                fmt(flink.get("v1")), fmt(flink.get("v2")),
                "—" if per_core is None else f"{per_core / best:.1f}×",
                "—" if per_core is None else ("met" if per_core >= 10 * best else "missed")])
    out += [table(["query", "checkpoints", "completed (last size)", "events/s", "min – max",
                   "per core (events/CPU-s)", "peak RSS MiB", "Flink V1 per core",
                   "Flink V2 per core", "segflow / best Flink", "≥ 10× target"], rows), "",
            f"Flink's figures: {FLINK_SOURCE}.", ""]

    out += ["## Segmentation", ""]
    r = res["segmentation"].get("retail", {"error": "not run"})
    out += [f"`jobs/retail.yaml` (its 11 segments) on the generator with {fmt(cfg.profiles)} "
            f"simulated users, {fmt(cfg.retail_events)} events, parallelism "
            f"{cfg.parallelism}, sink `discard`.", "",
            table(["workload", "events/s", "min – max", "per core", "peak RSS MiB",
                   "segment changes"],
                  [["retail"] + rate_cells(r) + [r.get("results", "—")]]), ""]
    rows = []
    for p in (1, 2):
        b = res["bench"].get("retail_memory", {}).get(RETAIL_MEMORY.format(p=p), {})
        rows.append([str(p), fmt(b.get("items_per_second")), fmt(b.get("changes"))])
    out += ["From decoded events: the same job and events, generated into memory before the "
            "timing and replayed through the job's graph into a counting sink "
            "(bench/retail_pipeline_bench.cpp, `RetailPipelineFromMemory`, median of "
            f"{cfg.runs}; issue 9's 1M events/s target is for this case).", "",
            table(["parallelism", "events/s", "segment changes"], rows), ""]
    state = res["bench"].get("state", {})
    rows = []
    for name, b in state.items():
        if "bytes_per_profile" not in b:
            continue
        args = name.split("/")[1:]
        if name.startswith("Retail"):
            case = f"retail.yaml segments, {fmt(int(args[0]))} users × {args[1]} events"
        else:
            shape = "streaming" if len(args) > 2 and args[1] == "1" else "aligned"
            case = f"`rolling`, 5 traits, {args[0]} event(s) per profile in the window, {shape}"
        rows.append([case, fmt(b.get("profiles")), fmt(b.get("events")),
                     f"{b['bytes_per_profile']:.0f}"])
    out += ["State per profile: heap bytes (mallinfo2 delta, timers included) of the "
            "operator after the last event, divided by the profiles it holds "
            "(bench/retail_state_bench.cpp: jobs/retail.yaml's `segments` operator on the "
            "generator's events; bench/window_bench.cpp: a `rolling` operator with 5 traits "
            "and 1, 10 or 50 events per profile in its window; aligned: every profile's "
            "events at the same times and price, streaming: each profile's own times and "
            "prices, the watermark following). Target: under 1 KB.", "",
            table(["case", "profiles", "events", "bytes per profile"], rows), ""]

    out += ["## Real data replays", "",
            "The datasets of ../shared/data through `jobs/retail.yaml`'s segments (the source "
            "of the dataset's `jobs/*_replay.yaml`, CSV decoding included, in place of the "
            "generator), against the same source into `discard` with no operators (decode "
            "only). The files are small, so each run replays several copies back to back, "
            "each shifted later in time (REES46 by a day, Taobao by 90 days, UCI by a year: "
            "the same customers returning), written once under build/bench/data/. Dead "
            "letters: UCI rows without a CustomerID (`missing key`), events later than the "
            "job's 5 s bound.", ""]
    rows = []
    for name, e in res["replays"].items():
        for kind in ("retail", "decode_only"):
            r = e.get(kind, {"error": e.get("error", "not run")})
            rows.append([name, f"{e.get('rows', '—')} × {e.get('copies', '—')}",
                         kind.replace("_", " "),
                         "—" if "error" in r else r["events"],
                         "—" if "error" in r else r["dead_letters"]] + rate_cells(r))
    out += [table(["dataset", "rows × copies", "run", "events", "dead letters", "events/s",
                   "min – max", "per core", "peak RSS MiB"], rows), ""]

    sc = res["scaling"]
    out += ["## Scaling", "",
            f"Parallelism (oversubscribed past {m['cores']} cores), {fmt(cfg.scaling_events)} "
            "events each; retail with 100K simulated users:", ""]
    rows = [[k.split("/")[0], k.split("/")[1]] + rate_cells(v)
            for k, v in sc["parallelism"].items()]
    out += [table(["workload", "parallelism", "events/s", "min – max", "per core",
                   "peak RSS MiB"], rows), "",
            f"Distinct keys: simulated users of jobs/retail.yaml's generator, "
            f"{fmt(cfg.scaling_events)} events, parallelism {cfg.parallelism}. A user has "
            "one key per device until logging in; with fewer events than users only part "
            "of them appear (sessions start over the first two simulated days).", ""]
    rows = [[fmt(int(k))] + rate_cells(v) for k, v in sc["keys"].items()]
    out += [table(["users", "events/s", "min – max", "per core", "peak RSS MiB"], rows), ""]
    seg = res["bench"].get("segments", {})
    rows = []
    for name, b in seg.items():
        if "items_per_second" in b:
            rows.append([name.split("/")[1],
                         "own window each" if "DistinctWindows" in name
                         else "own state each" if "DistinctStates" in name
                         else "shared" if name.split("/")[1] == "1000" else "one per rule",
                         fmt(b["items_per_second"]), f"{b.get('changes_per_event', 0):.3f}"])
    out += ["Segments: the `segments` operator alone on one thread "
            "(bench/segments_bench.cpp: 500K events of 10K profiles, 100 event names; an "
            "event touches 1 rule with 1 or 100 segments, 10 rules with 1,000). Segment i "
            "reads the events E<j>, j = i mod 100, so with 1,000 segments the 10 an event "
            "touches have the same condition and share one window state per profile "
            "(`shared`); `SegmentsOperatorThroughputDistinctWindows` gives each of them its own "
            "window length (`own window each`: one entry list, each counting within its own "
            "length); `SegmentsOperatorThroughputDistinctStates` also gives each an event name "
            "of its own that never comes, so each keeps its own list (`own state each`):", "",
            table(["segments", "windows", "events/s", "changes per event"], rows), ""]
    out += [f"Sliding window of 10 min (count + sum per key, `type: window`) by slide, over "
            f"{fmt(cfg.scaling_events)} CSV events 1 ms apart of {SLIDE_KEYS} keys (50 events/s "
            "per key). A key's results are span / slide whatever its events, so few keys with "
            "many events keep the results small and show the per-event cost, which should "
            "not grow with size / slide (one pane update per event, no per-window copies):", ""]
    rows = [[k, v.get("results", "—")] + rate_cells(v) for k, v in sc["slide"].items()]
    out += [table(["slide", "window results", "events/s", "min – max", "per core",
                   "peak RSS MiB"], rows), ""]

    lim = res["bench"].get("limit", {})
    out += ["## The limit: engine against a hand-written loop", "",
            f"bench/limit_bench.cpp: {fmt(res['bench'].get('limit_events'))} pre-generated "
            "events in memory; the engine runs the operators of the jobs (source replaying "
            "the batches → operators → counting sink); the loop is one thread with a plain "
            "open-addressing hash map (bench/open_addressing_map.h). Retail: the count-per-key "
            "rolling windows (`rolling_count_threshold`: more than 3 product views in 10 min, "
            "more than 1 add to cart in 30 min); q5 and q7 as jobs/nexmark.", ""]
    rows = []
    for w in ("Retail", "Q5", "Q7"):
        loop = lim.get(f"Limit{w}Loop/real_time", {}).get("items_per_second")
        for p in (1, 2):
            eng = lim.get(f"Limit{w}Engine/{p}/real_time", {}).get("items_per_second")
            ratio = f"{eng / loop:.2f}" if eng and loop else "—"
            rows.append([w.lower(), p, fmt(eng), fmt(loop), ratio])
    out += [table(["workload", "engine parallelism", "engine events/s", "loop events/s",
                   "engine / loop"], rows), "",
            "Targets: engine at parallelism 1 within 2× of the loop (ratio ≥ 0.5); at "
            "parallelism 2 at least as fast (ratio ≥ 1).", ""]

    micro = res["bench"].get("micro", {})
    rows = []
    for name, what in MICRO:
        b = micro.get(name) or micro.get(name + "/real_time")
        if not b:
            continue
        rows.append([f"`{name}`", what, fmt(b.get("items_per_second")),
                     f"{b['bytes_per_second'] / 1e6:.0f} MB/s" if b.get("bytes_per_second")
                     else "—"])
    out += ["## Micro-benchmarks", "",
            f"`build/release/bench/segflow_bench` (Google Benchmark), median of {cfg.runs} "
            "repetitions, items per second of CPU time (real time for the channel):", "",
            table(["benchmark", "what", "items/s", "bytes/s"], rows), ""]

    out += ["## Latency", "",
            "`bash bench/latency.sh --job JOB --source ID`: the job's unpaced maximum, then its "
            "source paced at 25/50/75 % of it; p50/p99/p99.9 of the engine's end-to-end latency "
            f"histogram (`{LATENCY_METRIC}`: processing time from the event's entry at the "
            "source to the sink writing the output it causes), from two scrapes after the "
            f"warm-up, medians of {cfg.runs} runs. Outputs made by time alone (absence, "
            "windows emptying or closing) have no ingest cause and are not observed, so the "
            "window queries of Nexmark are not listed; q1 (a map per bid) stands for the "
            "per-event ones.", ""]
    rows = []
    for name, lat in res["latency"].items():
        if "error" in lat:
            rows.append([name, "failed", "—", "—", "—", "—", lat["error"][:200]])
            continue
        for pct, r in sorted(lat["rates"].items(), key=lambda kv: int(kv[0])):
            rows.append([name, f"{pct} % of {fmt(lat['max_events_per_s'])}",
                         fmt(r["events_per_s"]), r["p50_ms"], r["p99_ms"], r["p99.9_ms"],
                         fmt(r["observed"])])
    out += [table(["workload", "load (of the maximum, events/s)", "events/s", "p50 ms",
                   "p99 ms", "p99.9 ms", "observed"], rows), ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny inputs, seconds")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiplies every event count (below 1: also no 10M-key run)")
    ap.add_argument("--render", action="store_true",
                    help="only rewrite RESULTS.md from the results.json of --out (or bench/)")
    ap.add_argument("--out", help="directory for results.json and RESULTS.md (default: bench/, "
                                  "with --smoke build/bench-smoke/)")
    args = ap.parse_args()

    def events(n):
        return max(1000, int(n * args.scale))
    keys = [1_000, 10_000, 100_000, 1_000_000] + ([10_000_000] if args.scale >= 1 else [])
    cfg = argparse.Namespace(
        smoke=args.smoke, runs=1 if args.smoke else max(3, args.runs), parallelism=2,
        scale=args.scale,
        nexmark_events=20_000 if args.smoke else events(40_000_000),
        checkpoint_interval="1s",
        retail_events=20_000 if args.smoke else events(3_000_000),
        profiles=1_000 if args.smoke else 1_000_000,
        replay_rows=0 if args.smoke else events(1_000_000),
        scaling_events=10_000 if args.smoke else events(1_000_000),
        parallelisms=[1, 2, 4, 8],
        key_counts=[1_000, 10_000] if args.smoke else keys,
        limit_events=20_000 if args.smoke else events(2_000_000),
        micro_skip=["IdentityLookup/10000000/0"] if args.smoke else [])
    if not os.access(SEGFLOW, os.X_OK):
        sys.exit(f"bench: {SEGFLOW} missing; build first: cmake --preset release && "
                 "cmake --build --preset release --target segflow segflow_bench")
    out_dir = args.out or os.path.join(ROOT, "build/bench-smoke" if args.smoke else "bench")
    if args.render:  # after a change to the tables: the same measurements, rendered again
        with open(os.path.join(out_dir, "results.json")) as f:
            res = json.load(f)
        with open(os.path.join(out_dir, "RESULTS.md"), "w") as f:
            f.write(markdown(res, argparse.Namespace(**res["config"])))
        return 0
    jobs = Jobs(os.path.join(ROOT, "build/bench-smoke/jobs" if args.smoke else "build/bench/jobs"))
    started = time.time()
    res = {"machine": machine_facts(), "config": vars(cfg)}
    for key, fn in (("nexmark", lambda: nexmark(jobs, cfg)),
                    ("segmentation", lambda: segmentation(jobs, cfg)),
                    ("replays", lambda: replays(jobs, cfg)),
                    ("scaling", lambda: scaling(jobs, cfg)),
                    ("bench", lambda: micro_benchmarks(cfg))):
        log(key)
        res[key] = fn()
    log("latency")
    res["latency"] = {}
    for name, job, source, options in LATENCY_WORKLOADS:
        try_measure(res["latency"], name, f"latency percentiles, {name}",
                    lambda: latency_percentiles(cfg, job, source, options))
    res["load_average_at_end"] = os.getloadavg()
    res["suite_seconds"] = round(time.time() - started, 1)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(out_dir, "RESULTS.md"), "w") as f:
        f.write(markdown(res, cfg))
    failed = [f"{part}/{k}" for part in ("segmentation", "replays") for k, v in res[part].items()
              if "error" in v]
    failed += [f"nexmark/{mode}/{q}" for mode, qs in res["nexmark"].items()
               for q, v in qs.items() if "error" in v]
    failed += [f"bench/{k}" for k, v in res["bench"].items() if isinstance(v, dict) and "error" in v]
    failed += [f"latency/{k}" for k, v in res["latency"].items() if "error" in v]
    log(f"wrote {out_dir}/results.json and RESULTS.md in {res['suite_seconds']} s"
        + (f"; FAILED: {failed}" if failed else ""))
    return 1 if args.smoke and failed else 0


if __name__ == "__main__":
    sys.exit(main())

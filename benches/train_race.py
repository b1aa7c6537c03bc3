"""Side-by-side race of apmdm's training step against two PyTorch steps of the same model.

Contestants (the 4 x 2 x 128 model, vocab 34, seq 324, batch 32, 2 threads each):
  apmdm       `apmdm bench train --json` (cpu backend, RAYON_NUM_THREADS=2)
  own/active  benches/torch_train_step.py, OMP_WAIT_POLICY=ACTIVE
  own/passive benches/torch_train_step.py, OMP_WAIT_POLICY=PASSIVE
  ref/active  the frozen ../shared/bench/torch_reference_step.py, OMP_WAIT_POLICY=ACTIVE
  ref/passive the same, OMP_WAIT_POLICY=PASSIVE

Each round runs every contestant once, in an order rotated by one per round, so that background
load falls on all of them alike. Each run reports two numbers per optimizer step, medians over its
timed steps: wall milliseconds and process CPU milliseconds (all threads). The PyTorch scripts are
run unchanged; their CPU time is read by a wrapper that records `time.process_time()` beside each of
the script's own `time.perf_counter()` calls (two per timed step) and checks that the wall times it
derives from those calls are the ones the script printed. Prints every run, then per contestant
the median and range over rounds, and the ratio torch / apmdm of the medians (above 1: apmdm is
faster).

Usage: python3 benches/train_race.py [--rounds 5] [--steps 5] [--apmdm target/release/apmdm]
       [--reference ../shared/bench/torch_reference_step.py] [--baseline OLD_APMDM] [--json FILE]
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Runs inside the child: wraps perf_counter, runs the script as __main__, pairs the clock reads.
WRAPPER = r"""
import io, json, runpy, sys, time, contextlib
script, steps = sys.argv[1], int(sys.argv[2])
reads = []
wall = time.perf_counter
def stamped():
    t = wall(); reads.append((t, time.process_time())); return t
time.perf_counter = stamped
sys.argv = [script] + sys.argv[3:]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    runpy.run_path(script, run_name="__main__")
line = [l for l in out.getvalue().splitlines() if l.startswith("{")][-1]
rep = json.loads(line)
# Both scripts read the clock at the start and at the end of every timed step (the reference skips
# the end read of its warm-up steps), so the last 2 * steps reads are the timed steps' pairs.
if len(reads) < 2 * steps:
    sys.exit(f"{script}: {len(reads)} perf_counter reads, expected at least {2 * steps}")
last = reads[len(reads) - 2 * steps:]
pairs = [(last[2 * i], last[2 * i + 1]) for i in range(steps)]
wall_ms = sorted((b[0] - a[0]) * 1e3 for a, b in pairs)
cpu_ms = sorted((b[1] - a[1]) * 1e3 for a, b in pairs)
med = lambda xs: xs[len(xs) // 2]
# The script's own median (its own index rule) must be one of the step times measured here.
if not any(abs(rep["ms_per_step"] - w) < 1e-6 * max(1.0, w) for w in wall_ms):
    sys.exit(f"{script}: printed {rep['ms_per_step']} ms, not among {wall_ms}")
print(json.dumps({"ms_per_step": rep["ms_per_step"], "cpu_ms_per_step": med(cpu_ms),
                  "all_ms": wall_ms, "all_cpu_ms": cpu_ms, "parameters": rep["parameters"],
                  "torch": rep["torch"]}))
"""


def run_apmdm(a, binary):
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([binary, "bench", "train", "--steps", str(a.steps), "--json"],
                         env=env, capture_output=True, text=True, check=True).stdout
    rep = json.loads(out)
    if rep.get("cpu_ms_per_step") is None:
        # An older binary reports wall time only: its CPU per step is the whole run's CPU time
        # (setup and the 2 warm-up steps included, so an overestimate) over all its steps.
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1e3
        rep["cpu_ms_per_step"] = cpu / (a.steps + 2)
        rep["cpu_is_whole_run"] = True
    return rep


def run_torch(a, script, policy):
    env = dict(os.environ, OMP_WAIT_POLICY=policy)
    cmd = [a.python, "-c", WRAPPER, script, str(a.steps), "--steps", str(a.steps),
           "--threads", str(a.threads)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{script} ({policy}) failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--apmdm", default=os.path.join(ROOT, "target", "release", "apmdm"))
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--reference",
                   default=os.path.join(ROOT, "..", "shared", "bench", "torch_reference_step.py"))
    p.add_argument("--baseline", help="another apmdm binary to race too (e.g. an older build); "
                   "without a CPU clock of its own, its CPU per step is its whole run's CPU time "
                   "over its steps, warm-up and setup included")
    p.add_argument("--json", help="also write every run and the summary to this file")
    a = p.parse_args()
    if a.rounds < 1 or a.steps < 1:
        sys.exit("--rounds and --steps must be at least 1")
    own = os.path.join(HERE, "torch_train_step.py")
    contestants = [
        ("apmdm", lambda: run_apmdm(a, a.apmdm)),
        ("own/active", lambda: run_torch(a, own, "ACTIVE")),
        ("own/passive", lambda: run_torch(a, own, "PASSIVE")),
        ("ref/active", lambda: run_torch(a, a.reference, "ACTIVE")),
        ("ref/passive", lambda: run_torch(a, a.reference, "PASSIVE")),
    ]
    if not os.path.isfile(a.reference):
        print(f"no reference script at {a.reference}: racing without it (--reference PATH)",
              flush=True)
        contestants = [c for c in contestants if not c[0].startswith("ref/")]
    if a.baseline:
        contestants.append(("baseline", lambda: run_apmdm(a, a.baseline)))
    names = [c[0] for c in contestants]
    print(f"CPU: {cpu_name()}, {os.cpu_count()} logical CPUs; load average at start: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {a.threads} threads, "
          f"{a.steps} timed steps per run, {a.rounds} rounds", flush=True)
    runs = {n: [] for n in names}
    for r in range(a.rounds):
        order = contestants[r % len(contestants):] + contestants[:r % len(contestants)]
        for name, go in order:
            rep = go()
            runs[name].append(rep)
            print(f"round {r + 1} {name:<12} wall {rep['ms_per_step']:8.1f} ms  "
                  f"CPU {rep['cpu_ms_per_step']:8.1f} ms", flush=True)
    params = {n: runs[n][0]["parameters"] for n in names}
    print(f"parameters: {params}; torch {runs['own/active'][0]['torch']}; "
          f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    summary = {}
    print(f"{'':<12} {'wall median':>11} {'wall range':>17} {'CPU median':>11} {'CPU range':>17}"
          f" {'torch/apmdm wall':>17} {'CPU':>6}")
    for n in names:
        w = [x["ms_per_step"] for x in runs[n]]
        c = [x["cpu_ms_per_step"] for x in runs[n]]
        summary[n] = {"wall_median": statistics.median(w), "wall_min": min(w),
                      "wall_max": max(w), "cpu_median": statistics.median(c),
                      "cpu_min": min(c), "cpu_max": max(c)}
    for n in names:
        s = summary[n]
        rw = s["wall_median"] / summary["apmdm"]["wall_median"]
        rc = s["cpu_median"] / summary["apmdm"]["cpu_median"]
        s["ratio_wall"], s["ratio_cpu"] = rw, rc
        print(f"{n:<12} {s['wall_median']:11.1f} {s['wall_min']:8.1f}-{s['wall_max']:<8.1f}"
              f" {s['cpu_median']:11.1f} {s['cpu_min']:8.1f}-{s['cpu_max']:<8.1f}"
              f" {rw:17.2f} {rc:6.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cpu": cpu_name(), "runs": runs, "summary": summary}, f, indent=1)


if __name__ == "__main__":
    main()

"""`make bench`: every benchmark, one process at a time, then bench/results.json and BENCHMARKS.md.

    .venv/bin/python -m bench.run [--keep]
    .venv/bin/python -m bench.run --phase handoff_pace    # one phase alone, into bench/results.json
    .venv/bin/python -m bench.run --phase hwu64           # HWU64 against both baselines (banking77: BANKING77's)
    .venv/bin/python -m bench.run --phase oos             # out of scope: intents held out of BANKING77, then HWU64
    .venv/bin/python -m bench.run --phase starter         # the starter model with config.toml's seed and EXTRA_SEEDS
    .venv/bin/python -m bench.run --phase stats           # /stats on a database of a million messages
    .venv/bin/python -m bench.run --phase actions         # after training the starter model it needs
    .venv/bin/python -m bench.run --phase ab              # A/B tests simulated (ab_memory: two models' memory)
    .venv/bin/python -m bench.run --phase distributed     # training memory vs set size; 1 vs 2 workers on BANKING77

Each phase is its own Python process (`python -m bench.phases.NAME`, or `python -m bot.cli benchmark …` for the
data sets' phases: COMMANDS), so no phase measures memory or speed with another's libraries loaded (the serving
phase must not even have TensorFlow imported), and the machine runs one heavy process at a time. The working
directory (starter model, databases) is a temporary directory, removed at the end unless --keep. Phase logs go
to bench/logs/ (ignored).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bench.files import BANKING77, BENCH, FIGURES, HWU64, RESULTS, ROOT, write_json
from bench.report import write_report

SCALING_SIZES = (1000, 2000, 5000, 10000, 20000)
SCALING_EPOCHS = 3  # fixed epochs per size: see bench/phases/scaling.py
ALONE = ("handoff_pace", "stats", "ab", "distributed")  # phases `--phase` can run alone: they need no starter model
AFTER_STARTER = ("actions", "ab_memory")  # phases `--phase` runs after training the starter model they need
EXTRA_SEEDS = (1, 2)  # the starter model is trained again with these beside config.toml's seed: three seeds (#17)
# A seed's figures: those bench/phases/starter_seed.py writes (bench/phases/starter.py `gold_figures`).
SEED_KEYS = ("epochs", "release_s", "accuracy", "macro_f1", "oos_recall", "inscope_accuracy", "per_language")
DATA_SETS = {"banking77": BANKING77, "hwu64": HWU64}  # each against both baselines in the same run
HOLD_OUT = {"banking77": 10, "hwu64": 8}  # intents each one's out-of-scope run holds out (drawn by a fixed seed)
OOS_LABEL = "out_of_scope"  # the label the held-out intents get


def benchmark_command(data: Path, hold_out: int = 0) -> list[str]:
    """`supportbot benchmark` on one shared data set beside both baselines; with `hold_out` k, k of its
    intents become out of scope (training/benchmark/data.py) and the threshold is chosen on validation."""
    oos = ["--hold-out", str(hold_out), "--oos-label", OOS_LABEL] if hold_out else []
    return ["benchmark", "--train", str(data / "train.csv"), "--test", str(data / "test.csv"), *oos,
            "--baselines", "--json"]


COMMANDS = {**{name: benchmark_command(path) for name, path in DATA_SETS.items()},
            **{f"oos_{name}": benchmark_command(DATA_SETS[name], k) for name, k in HOLD_OUT.items()}}
SECTIONS = ("starter", *DATA_SETS, "oos")  # sections `--phase` measures alone as a whole run does, phases and all


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    return {"nproc": os.cpu_count(), "cpu_model": cpu, "mem_gb": round(mem_kb / 1024**2, 1),
            "os": platform.platform(), "python": platform.python_version()}


def git_state() -> dict:
    """Which code was measured (read-only git queries)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD") or "unknown", "uncommitted_files": len(status.splitlines())}


def versions() -> dict:
    found = {}
    for name in ("tensorflow-cpu", "keras", "ai-edge-litert", "numpy", "scikit-learn", "fasttext-wheel",
                 "python-telegram-bot", "sqlite-utils"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


class Phases:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.seconds: dict[str, float] = {}
        self.failed: dict[str, str] = {}  # phases a run may go on without: name → why they failed

    def attempt(self, name: str, argv: list[str], out: Path) -> dict | None:
        """`run` for a phase the report can go without (its section is left out and the failure recorded):
        one that fails on a busy machine for reasons of its own should not cost the whole run's figures."""
        try:
            return self.run(name, argv, out)
        except SystemExit as failure:
            print(failure, flush=True)
            self.failed[name] = str(failure).split(";")[0].removeprefix(f"{name} ")  # "failed (exit N)": logs stay here
            return None

    def run(self, name: str, argv: list[str], out: Path | None = None) -> dict:
        """Run one phase process; its JSON comes from `out`, or from its stdout when out is None."""
        print(f"[{time.strftime('%H:%M:%S')}] {name} ...", flush=True)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
        env.pop("SUPPORTBOT_VAR", None)
        started = time.perf_counter()
        with (self.logs / f"{name}.log").open("w") as log:
            done = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, text=True,
                                  stdout=subprocess.PIPE if out is None else log, stderr=log)
        self.seconds[name] = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{name} failed (exit {done.returncode}); see {self.logs / (name + '.log')}")
        print(f"[{time.strftime('%H:%M:%S')}] {name} done in {self.seconds[name]:.0f} s", flush=True)
        return json.loads(done.stdout) if out is None else json.loads(out.read_text())


def phase(name: str) -> list[str]:
    """The interpreter's arguments that run bench/phases/NAME.py."""
    return ["-m", f"bench.phases.{name}"]


def benchmark(phases: Phases, name: str) -> dict:
    """One of COMMANDS as a phase of its own: its figures keyed by system."""
    return phases.run(name, ["-m", "bot.cli", *COMMANDS[name]])


def out_of_scope(phases: Phases) -> dict:
    """Each data set with HOLD_OUT's intents out of scope: its figures keyed by system, which name the intents."""
    return {name: benchmark(phases, f"oos_{name}") for name in HOLD_OUT}


def starter_section(phases: Phases, work: Path) -> dict:
    """The starter phase (config.toml's seed: the model the later phases serve, in WORK_DIR) and the same release
    with each of EXTRA_SEEDS, a process and working directory each; `seeds` holds every seed's gold figures
    and `over_seeds` their minimum and mean. The starter's own keys stay as they were before seeds were added."""
    starter = phases.run("starter", [*phase("starter"), str(work), str(work / "starter.json")], work / "starter.json")
    seeds = [{"seed": starter["seed"], **{key: starter[key] for key in SEED_KEYS}}]
    for seed in EXTRA_SEEDS:
        out = work / f"starter_seed_{seed}.json"
        seeds.append(phases.run(f"starter_seed_{seed}", [*phase("starter_seed"), str(work / f"seed_{seed}"), str(out),
                                                         str(seed)], out))
    return starter | {"config": "config.toml", "seeds": seeds, "over_seeds": over_seeds(seeds)}


def over_seeds(seeds: list[dict]) -> dict:
    """Minimum and mean over the seeds of gold accuracy and macro-F1, over all messages and per language."""
    def spread(values: list[float]) -> dict:
        return {"min": min(values), "mean": sum(values) / len(values)}

    figures = {"all": {metric: spread([s[metric] for s in seeds]) for metric in ("accuracy", "macro_f1")}}
    for language in seeds[0]["per_language"]:
        figures[language] = {metric: spread([s["per_language"][language][metric] for s in seeds])
                             for metric in ("accuracy", "macro_f1")}
    return figures


def section(phases: Phases, work: Path, name: str) -> dict:
    """The results section NAME (one of SECTIONS), measured as a whole run measures it."""
    if name == "starter":
        return starter_section(phases, work)
    return out_of_scope(phases) if name == "oos" else benchmark(phases, name)


def main(keep: bool = False) -> None:
    started, load_start, code = time.perf_counter(), os.getloadavg(), git_state()
    date = datetime.now(UTC).isoformat(timespec="seconds")
    logs = BENCH / "logs"
    logs.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="supportbot-bench-"))
    phases = Phases(logs)
    try:
        starter = starter_section(phases, work)
        cv = phases.run("policy_cv", [*phase("policy_cv"), str(work), str(work / "policy_cv.json")], work / "policy_cv.json")
        serving = phases.run("serving", [*phase("serving"), str(work), str(work / "serving.json")], work / "serving.json")
        keras = phases.run("keras_predict", [*phase("keras_predict"), str(work), starter["model_dir"],
                                             str(work / "keras.json")], work / "keras.json")
        e2e = phases.run("e2e", [*phase("e2e"), str(work), str(work / "e2e.json")], work / "e2e.json")
        actions = phases.run("actions", [*phase("actions"), str(work), str(work / "actions.json")], work / "actions.json")
        handoff_pace = phases.run("handoff_pace", [*phase("handoff_pace"), str(work), str(work / "handoff_pace.json")],
                                  work / "handoff_pace.json")
        stats = phases.run("stats", [*phase("stats"), str(work), str(work / "stats.json")], work / "stats.json")
        ab = phases.run("ab", [*phase("ab"), str(work), str(work / "ab.json")], work / "ab.json")
        ab_memory = phases.run("ab_memory", [*phase("ab_memory"), str(work), str(work / "ab_memory.json")],
                               work / "ab_memory.json")
        benchmarks = {name: benchmark(phases, name) for name in DATA_SETS}
        oos = out_of_scope(phases)
        scaling = [phases.run(f"scaling_{n}", [*phase("scaling"), str(n), str(work / f"scaling_{n}.json"),
                                               str(SCALING_EPOCHS)], work / f"scaling_{n}.json")
                   for n in SCALING_SIZES]
        # Multi-worker training on two cores can abort (the pipeline reports that as a ClusterError); the rest stands.
        distributed = phases.attempt("distributed", [*phase("distributed"), str(work), str(work / "distributed.json")],
                                     work / "distributed.json")
    finally:
        if keep:
            print(f"working directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    ratio = keras["predict_latency_ms"]["p50"] / serving["latency_ms"]["p50"]
    results = {
        **benchmarks,
        "oos": oos,
        "serving": {
            **serving,
            "predict_latency_ms": {**keras["predict_latency_ms"], "ratio_to_litert_p50": ratio},
            "keras_call_latency_ms": keras["call_latency_ms"],
            "keras_rss_mb": keras["rss_mb"],
            "keras_peak_rss_mb": keras["peak_rss_mb"],
        },
        "e2e": {**e2e, "ratio_to_echo": e2e["msgs_per_s"] / e2e["echo_msgs_per_s"],
                "ratio_to_echo_ratelimited": e2e["msgs_per_s"] / e2e["echo_ratelimited_msgs_per_s"],
                "unlimited_ratio_to_echo": e2e["unlimited_msgs_per_s"] / e2e["echo_msgs_per_s"]},
        "actions": actions,
        "handoff_pace": handoff_pace,
        "stats": stats,
        "ab": ab,
        "ab_memory": ab_memory,
        "retrain_scaling": scaling,
        **({"distributed": distributed} if distributed else {}),
        "starter": starter,
        "starter_cv": cv,
        "meta": {
            "date": date,
            "command": "make bench",
            "runs": ".venv/bin/python -m bench.run",
            "commands": {name: "supportbot " + " ".join(command) for name, command in COMMANDS.items()},
            "machine": machine(),
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "versions": versions(),
            "git": code,
            "scaling_epochs": SCALING_EPOCHS,
            "phase_seconds": {k: round(v, 1) for k, v in phases.seconds.items()},
            "failed_phases": phases.failed,
            "wall_s": round(time.perf_counter() - started, 1),
        },
    }
    results["starter"].pop("model_dir", None)  # a temporary directory, gone now
    write_json(RESULTS, results)
    write_report(results)
    print(f"wrote {RESULTS.relative_to(ROOT)}, BENCHMARKS.md and {FIGURES.relative_to(ROOT)}/ "
          f"in {results['meta']['wall_s'] / 60:.1f} min")


def one_phase(name: str) -> None:
    """`--phase NAME`: one phase that needs nothing from another (no starter model), or one results section of
    SECTIONS, run alone; its figures replace that phase's or section's in bench/results.json, with when, where
    and how they were measured, and BENCHMARKS.md is rendered again from the whole file."""
    if name not in ALONE + AFTER_STARTER + SECTIONS:
        raise SystemExit(f"--phase runs {', '.join(ALONE + AFTER_STARTER + SECTIONS)}; the others only in a whole "
                         "run: make bench")
    work, logs = Path(tempfile.mkdtemp(prefix="supportbot-bench-")), BENCH / "logs"
    logs.mkdir(exist_ok=True)
    load_start = os.getloadavg()
    phases = Phases(logs)
    try:
        if name in SECTIONS:
            figures = section(phases, work, name)
        else:
            if name in AFTER_STARTER:
                phases.run("starter", [*phase("starter"), str(work), str(work / "starter.json")], work / "starter.json")
            figures = phases.run(name, [*phase(name), str(work), str(work / "out.json")], work / "out.json")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    measured = {
        "command": f".venv/bin/python -m bench.run --phase {name}", "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(), "git": git_state(), "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "phase_seconds": {k: round(v, 1) for k, v in phases.seconds.items()}}
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if name in SECTIONS:
        record_section(results, name, figures, measured)
    else:
        results[name] = {**figures, "measured": measured}
    write_json(RESULTS, results)
    try:
        write_report(results)
    except KeyError as missing:  # a phase added since the last full run, not measured yet
        raise SystemExit(f"wrote {name} into {RESULTS.relative_to(ROOT)}; BENCHMARKS.md not rendered: the results "
                         f"hold no {missing} yet (make bench measures every phase)") from None
    print(f"wrote {name} into {RESULTS.relative_to(ROOT)} and BENCHMARKS.md")


def record_section(results: dict, name: str, figures: dict, measured: dict) -> None:
    """A section measured alone: its figures as a whole run stores them (keyed by system, so the note of how
    they were measured goes to meta.measured_alone, and the commands that ran to meta.commands)."""
    results[name] = {key: value for key, value in figures.items() if key != "model_dir"}  # the starter's: gone now
    meta = results.setdefault("meta", {})
    meta.setdefault("measured_alone", {})[name] = measured
    meta.setdefault("commands", {}).update({command: "supportbot " + " ".join(COMMANDS[command])
                                            for command in measured["phase_seconds"] if command in COMMANDS})


if __name__ == "__main__":
    if "--phase" in sys.argv[1:]:
        one_phase(sys.argv[sys.argv.index("--phase") + 1])
    else:
        main(keep="--keep" in sys.argv[1:])

"""BENCHMARKS.md and bench/figures/ from bench/results.json.

    .venv/bin/python -m bench.report [RESULTS.json]   # rewrite both from the results of the last `make bench`

Every number in the report is read from results.json, i.e. measured by one `make bench` run;
ratios are of numbers from that same run.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from matplotlib.figure import Figure

from bench.files import AB_DESIGN_RECORD, BENCHMARKS, FIGURES, RESULTS, ROOT, SERVING_VARIANTS_RECORD, STARTER_CV_RECORD, TUNE_RECORD
from bench.report_cluster import MEMORY_FIGURE, cluster_section, plot_memory

SYSTEM_NAMES = {"supportbot": "supportbot (ours)", "tfidf_linearsvc": "TF-IDF + LinearSVC", "fasttext": "fastText"}
DATA_NAMES = {"banking77": "BANKING77", "hwu64": "HWU64"}
SYSTEM_TABLE = ["| system | accuracy | macro-F1 | train (s) | latency p50 (ms) | latency p99 (ms) | model on disk (MB) | "
                "peak RSS serving (MB) |", "|---|---|---|---|---|---|---|---|"]
SCALING_FIGURE = "retrain_scaling.png"  # in FIGURES


def plot_scaling(results: dict, path: Path) -> None:
    scaling = results["retrain_scaling"]
    epochs = results["meta"]["scaling_epochs"]
    fig = Figure(figsize=(6.4, 4.2), dpi=120)
    ax = fig.subplots()
    ns = [p["n"] for p in scaling]
    ax.plot(ns, [p["train_s"] for p in scaling], "o-", label=f"train(), {epochs} epochs (fixed)")
    full = results["banking77"]["supportbot"]
    ax.plot([full["n_fit"] + full["n_val"]], [full["train_s"]], "s", color="C3",
            label=f"train(), full schedule ({full['epochs']} epochs): BANKING77 run")
    for i, p in enumerate(scaling):  # alternate above/below so neighbouring small sizes do not collide
        ax.annotate(f"{p['s_per_epoch']:.1f} s/epoch", (p["n"], p["train_s"]), textcoords="offset points",
                    xytext=(-20, 8) if i % 2 else (-60, -14) if i == len(scaling) - 1 else (6, -12), fontsize=7)
    ax.set_xlabel("training examples (BANKING77 samples; 20k with perturbed copies)")
    ax.set_ylabel("training time (s)")
    ax.set_title(f"Retraining time vs data size ({results['meta']['machine']['nproc']} CPU cores)")
    ax.grid(True, alpha=0.3)
    ax.set_ylim(0, max([p["train_s"] for p in scaling] + [full["train_s"]]) * 1.12)
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    fig.savefig(path)


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _rounds(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def render(results: dict) -> str:
    meta, b77, serving, e2e = results["meta"], results["banking77"], results["serving"], results["e2e"]
    starter, scaling = results["starter"], results["retrain_scaling"]
    m = meta["machine"]
    ours, svm, ft = b77["supportbot"], b77["tfidf_linearsvc"], b77["fasttext"]
    limited = e2e["msgs_per_s"] >= 0.95 * e2e["echo_ratelimited_msgs_per_s"]  # as fast as the limiter lets it
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `{meta['command']}` (`{meta['runs']}`) on {meta['date']}, in "
        f"{meta['wall_s'] / 60:.1f} minutes. Every figure below comes from that one run (`bench/results.json`); "
        "ratios compare numbers from the same run. Regenerate the text alone with `.venv/bin/python -m bench.report`.",
        "",
        f"**Machine:** {m['nproc']} CPU cores (`nproc`), {m['cpu_model']}, {m['mem_gb']} GB RAM, {m['os']}, "
        f"Python {m['python']}. The machine is shared: load average {', '.join(map(str, meta['load_average_start']))} "
        f"(1/5/15 min) at the start and {', '.join(map(str, meta['load_average_end']))} at the end, so timings "
        "(latency tails above all) are those of a busy two-core box, not a quiet one.",
        "",
        "**Versions:** " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v) + ". "
        f"**Code:** commit {meta['git']['commit'][:10]} with {meta['git']['uncommitted_files']} file(s) changed "
        "on top of it in the working tree at the start of the run.",
        "",
        *[line for name, why in meta.get("failed_phases", {}).items()
          for line in (f"**Failed in this run:** the {name} phase ({why}). Its section below is from a run of that "
                       "phase alone where it says so, else absent.", "")],
        "## Summary",
        "",
        f"- BANKING77 (77 intents, {ours['n_test']} test messages): supportbot {_pct(ours['accuracy'])} accuracy, "
        f"TF-IDF + LinearSVC {_pct(svm['accuracy'])}, fastText {_pct(ft['accuracy'])}.",
        hwu64_summary(results["hwu64"]),
        oos_summary(results["oos"]),
        f"- Serving: the bot process (engine + LiteRT model, no TensorFlow) holds {serving['rss_mb']:.0f} MB; "
        f"one message is classified in {serving['latency_ms']['p50']:.2f} ms (p50) vs "
        f"{serving['predict_latency_ms']['p50']:.0f} ms through Keras `model.predict` "
        f"({serving['predict_latency_ms']['ratio_to_litert_p50']:.0f}× slower), whose process holds "
        f"{serving['keras_rss_mb']:.0f} MB.",
        f"- Telegram end to end, {e2e['users']} customers at once: {e2e['msgs_per_s']:.1f} answers/s"
        + (" (the pace of PTB's AIORateLimiter, Telegram's 30 messages/s)" if limited else "")
        + f"; the same limiter on an echo bot gives {e2e['echo_ratelimited_msgs_per_s']:.1f}/s. Without the "
        f"limiter, supportbot answers {e2e['unlimited_msgs_per_s']:.0f}/s, an echo bot {e2e['echo_msgs_per_s']:.0f}/s "
        f"({e2e['unlimited_ratio_to_echo']:.2f}×). "
        f"One customer alone gets an answer in {e2e['single_user_latency_ms']['p50']:.1f} ms (p50; echo bot "
        f"{e2e['echo_single_user_latency_ms']['p50']:.1f} ms).",
        f"- Starter domain (config.toml): gold accuracy {_pct(starter['accuracy'])}, macro-F1 "
        f"{_f(starter['macro_f1'])}, out-of-scope recall {_pct(starter['oos_recall'])}; trained and exported in "
        f"{starter['release_s']:.0f} s. {seeds_summary(starter)}",
        "",
        *targets_section(results),
        "## BANKING77: accuracy, speed and size against baselines",
        "",
        f"`{meta['commands']['banking77']}` (config.toml's [model] settings). Data: "
        "/work/shared/datasets/banking77 (PolyAI, CC BY 4.0): "
        f"{ours['n_fit'] + ours['n_val']} training rows, of which `train()` holds out {ours['n_val']} as its "
        f"validation split (the best epoch's weights are kept); all three systems learn from the same {ours['n_fit']}; the "
        f"{ours['n_test']} test rows are read once, at the end.",
        "",
        *system_table(b77),
        "",
        f"- **supportbot**: {ours['name']}: `training.train.train` ({ours['epochs']} epochs: the whole cosine "
        "schedule, the best epoch by validation loss kept), "
        f"`save` (Keras file + LiteRT export, {ours['export_s']:.1f} s more), served by `Classifier` (LiteRT, one "
        "thread, each message at the shortest of 8, 16 or 32 tokens that holds it). Model on disk = what the "
        "bot loads (model.tflite, encoder.json, labels.json); the whole "
        f"artefact directory with model.keras is {ours['artifact_mb']:.1f} MB.",
        f"- **TF-IDF + LinearSVC**: {svm['name']} (scikit-learn, C=1, defaults otherwise), pickled with joblib.",
        f"- **fastText**: {ft['name']}: the real library (`fasttext-wheel`, the `bench` extra); "
        f"{', '.join(f'{k}={v}' for k, v in ft['params'].items())}; the 2×2 grid (epoch 25/50 × lr 0.5/1.0) took "
        f"{ft['tuning_s']:.1f} s, train (s) is the chosen model's. Input: our tokeniser's tokens joined by spaces. "
        "Its model file is mostly the 200k hashed-bigram rows × 100 dimensions.",
        "- Latency: one message at a time, raw text in, tokenisation/vectorisation included, each of the "
        f"{ours['latency_ms']['n']} test messages once, after a warm-up on the {ours['n_val']} validation texts. "
        "Peak RSS: VmHWM of a fresh process per system that loads its model and serves the test set "
        f"(TensorFlow imported in supportbot's: {str(ours['tensorflow_in_serving_process']).lower()}).",
        "",
        *hwu64_section(results),
        *oos_section(results),
        "## Serving path: memory and latency of the bot process",
        "",
        "A process that imports what `supportbot run` needs to answer (bot.runtime: engine, SQLite storage, the LiteRT "
        "`Classifier`) and opens the runtime on the starter model trained above; the bench asserts that "
        f"`tensorflow` is not in `sys.modules` there (imported: {str(serving['tensorflow_imported']).lower()}). "
        "The same messages (gold then training texts of the starter domain) through the same model in Keras, in a "
        "second process in the same run.",
        "",
        "| | p50 (ms) | p99 (ms) | n | process RSS (MB) |",
        "|---|---|---|---|---|",
        f"| `Classifier.predict` (LiteRT, tokenisation included) | {serving['latency_ms']['p50']:.3f} | "
        f"{serving['latency_ms']['p99']:.3f} | {serving['latency_ms']['n']} | {serving['rss_mb']:.0f} "
        f"(peak {serving['peak_rss_mb']:.0f}) |",
        f"| `Engine.handle` (store, classify, decide, store the reply) | {serving['engine_handle_ms']['p50']:.3f} | "
        f"{serving['engine_handle_ms']['p99']:.3f} | {serving['engine_handle_ms']['n']} | same process |",
        f"| Keras `model.predict` on one message | {serving['predict_latency_ms']['p50']:.1f} | "
        f"{serving['predict_latency_ms']['p99']:.1f} | {serving['predict_latency_ms']['n']} | "
        f"{serving['keras_rss_mb']:.0f} (peak {serving['keras_peak_rss_mb']:.0f}) |",
        f"| Keras `model(x, training=False)` | {serving['keras_call_latency_ms']['p50']:.1f} | "
        f"{serving['keras_call_latency_ms']['p99']:.1f} | {serving['keras_call_latency_ms']['n']} | same process |",
        "",
        f"LiteRT vs `model.predict`, p50: {serving['predict_latency_ms']['ratio_to_litert_p50']:.0f}× faster; "
        f"memory {serving['keras_rss_mb'] / serving['rss_mb']:.1f}× smaller.",
        "",
        "## End to end through Telegram (python-telegram-bot and the local Bot API server)",
        "",
        f"{e2e['users']} simulated customers at once, {e2e['messages_per_user']} messages each after one warm-up "
        "message, each sending its next message as soon as the answer arrives; the real application "
        "(tests/harness.py `running_bot`, the starter model, its own SQLite) long-polling the local Bot API server "
        "(tests/botapi) over HTTP, everything in one process and event loop (plus the bot's worker thread). "
        "Reply latency: from the customer's update "
        "being queued on the server to the bot's sendMessage arriving there. The per-customer flood guard is raised "
        "for the run (a simulated customer writes far faster than a person). Each bot against a fresh server, same run.",
        "",
        "| bot | answers/s | latency p50 (ms) | latency p99 (ms) |",
        "|---|---|---|---|",
        f"| supportbot (engine, SQLite, LiteRT, AIORateLimiter) | {e2e['msgs_per_s']:.1f} | "
        f"{e2e['latency_ms']['p50']:.0f} | {e2e['latency_ms']['p99']:.0f} |",
        f"| minimal PTB echo bot | {e2e['echo_msgs_per_s']:.1f} | {e2e['echo_latency_ms']['p50']:.0f} | "
        f"{e2e['echo_latency_ms']['p99']:.0f} |",
        f"| echo bot + the same AIORateLimiter | {e2e['echo_ratelimited_msgs_per_s']:.1f} | "
        f"{e2e['echo_ratelimited_latency_ms']['p50']:.0f} | {e2e['echo_ratelimited_latency_ms']['p99']:.0f} |",
        f"| supportbot without the limiter (`outgoing_rate_limit = false`) | {e2e['unlimited_msgs_per_s']:.1f} | "
        f"{e2e['unlimited_latency_ms']['p50']:.0f} | {e2e['unlimited_latency_ms']['p99']:.0f} |",
        "",
        f"supportbot / rate-limited echo: {e2e['ratio_to_echo_ratelimited']:.2f}× the throughput; without the "
        f"limiter on both sides, supportbot / echo: {e2e['unlimited_ratio_to_echo']:.2f}× (each of its answers "
        "also stores the message, classifies it, stores the prediction and the reply, and records the delivery, "
        "on the bot's worker thread). The two unlimited bots ran alternately, "
        f"{e2e['rounds']} rounds each; the table shows each one's median round (answers/s per round: echo "
        f"{_rounds(e2e['echo_rounds_msgs_per_s'])}; supportbot {_rounds(e2e['unlimited_rounds_msgs_per_s'])}). "
        + (f"Under this load the bot runs at the rate limiter's pace (AIORateLimiter enforces Telegram's flood limit "
           f"of 30 messages/s for a bot), not at the engine's, and with {e2e['users']} customers sharing "
           f"{e2e['msgs_per_s']:.0f} answers/s each waits about {e2e['users'] / e2e['msgs_per_s']:.2f} s "
           "for its answer (closed loop: customers / throughput)." if limited else
           "The bot stays below the rate limiter's pace here: the engine, not the limiter, is the bottleneck."),
        "",
        "One customer alone (a 50 ms pause between messages, so nothing queues):",
        "",
        "| bot | latency p50 (ms) | latency p99 (ms) | n |",
        "|---|---|---|---|",
        f"| supportbot | {e2e['single_user_latency_ms']['p50']:.1f} | {e2e['single_user_latency_ms']['p99']:.1f} | "
        f"{e2e['single_user_latency_ms']['n']} |",
        f"| minimal PTB echo bot | {e2e['echo_single_user_latency_ms']['p50']:.1f} | "
        f"{e2e['echo_single_user_latency_ms']['p99']:.1f} | {e2e['echo_single_user_latency_ms']['n']} |",
        "",
    ]
    lines += actions_section(results.get("actions"))
    lines += handoff_pace_section(results.get("handoff_pace"))
    lines += stats_section(results.get("stats"))
    lines += ab_section(results.get("ab"), results.get("ab_memory"))
    lines += [
        "## Retraining time vs data size",
        "",
        f"![retraining time vs number of examples]({(FIGURES / SCALING_FIGURE).relative_to(ROOT)})",
        "",
        f"`training.train.train` with config.toml's [model] settings on BANKING77 samples, one fresh process per size, "
        f"each run for exactly {meta['scaling_epochs']} epochs (early stopping taken out, so sizes are comparable; "
        "a nightly run goes through config.toml's whole schedule). 1k-5k: stratified samples of train.csv, "
        "10k: a random 10,000 of its 10,003 rows; "
        "20k: all 10,003 rows plus 9,997 copies of random rows, each with one typo (two letters swapped, one "
        "dropped or doubled in a 4+-letter word) — see bench/phases/scaling.py. The time includes building the vocabulary and "
        "encoding, not the LiteRT export; s/epoch is train (s) / epochs, so it carries the one-off setup (building "
        "the model and tracing its graph), which weighs most on the smallest sizes.",
        "",
        "| examples | train (s) | epochs | s/epoch | vocabulary |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {p['n']:,} | {p['train_s']:.1f} | {p['epochs']} | {p['s_per_epoch']:.2f} | {p['vocab']:,} |"
              for p in scaling]
    lines += [
        "",
        f"For comparison, the full BANKING77 run above ({ours['n_fit'] + ours['n_val']:,} rows) trained "
        f"{ours['epochs']} epochs in {ours['train_s']:.0f} s.",
        "",
        *cluster(results.get("distributed")),
        "## Starter domain (config.toml)",
        "",
        *_alone(results, "starter"),
        f"`supportbot train` as it runs at `make run`: config.toml, {starter['n_train']:,} training examples, "
        f"{starter['n_intents']} intents, measured on the fixed gold set ({starter['n_gold']} messages) through the "
        f"served LiteRT model; {starter['epochs']} epochs, {starter['release_s']:.0f} s including export and "
        "evaluation.",
        "",
        "| | accuracy | macro-F1 | gold messages | training examples |",
        "|---|---|---|---|---|",
        f"| all | {_f(starter['accuracy'], 4)} | {_f(starter['macro_f1'], 4)} | {starter['n_gold']} | {starter['n_train']} |",
    ]
    lines += [f"| {lang} | {_f(r['accuracy'], 4)} | {_f(r['macro_f1'], 4)} | {r['n_gold']} | {r['n_train']} |"
              for lang, r in starter["per_language"].items()]
    lines += [
        "",
        f"Out-of-scope recall {_f(starter['oos_recall'], 4)}; in-scope accuracy {_f(starter['inscope_accuracy'], 4)}.",
        "",
        *seeds_section(results),
        *policy_choice(starter, results.get("starter_cv")),
        *starter_experiments(STARTER_CV_RECORD),
        *experiments(TUNE_RECORD),
        *serving_variants(SERVING_VARIANTS_RECORD),
        "## Phases",
        "",
        "| phase | seconds |",
        "|---|---|",
    ]
    lines += [f"| {name} | {s:.0f} |" for name, s in meta["phase_seconds"].items()]
    return "\n".join(lines) + "\n"


def system_table(systems: dict) -> list[str]:
    """One row per system of a `supportbot benchmark --baselines` result: how right, how fast, how big."""
    return [*SYSTEM_TABLE, *(f"| {SYSTEM_NAMES.get(key, key)} | {_f(r['accuracy'], 4)} | {_f(r['macro_f1'], 4)} | "
                             f"{r['train_s']:.1f} | {r['latency_ms']['p50']:.3f} | {r['latency_ms']['p99']:.3f} | "
                             f"{r['model_mb']:.1f} | {r['peak_rss_mb']:.0f} |" for key, r in systems.items())]


def _points(a: float, b: float) -> str:
    """a - b in percentage points, signed."""
    return f"{100 * (a - b):+.1f} points"


def _commit(git: dict) -> str:
    """The code measured: a commit, and whether files were changed on top of it."""
    extra = git.get("uncommitted_files", 0)
    return f"commit {git['commit'][:7]}" + (f" with {extra} uncommitted files" if extra else "")


def _alone(results: dict, section: str) -> list[str]:
    """Where a section was measured alone (`bench.run --phase`) since the whole run: when, and how loaded."""
    alone = results["meta"].get("measured_alone", {}).get(section)
    if alone is None:
        return []
    seconds = ", ".join(f"{name} {s:.0f} s" for name, s in alone["phase_seconds"].items())
    return [f"Measured alone by `{alone['command']}` on {alone['date']} at {_commit(alone['git'])} (load "
            f"average {', '.join(map(str, alone['load_average_start']))} at the start; {seconds}), not in the run above.", ""]


def hwu64_summary(hwu64: dict) -> str:
    ours, svm, ft = hwu64["supportbot"], hwu64["tfidf_linearsvc"], hwu64["fasttext"]
    return (f"- HWU64 ({ours['n_labels']} intents, {ours['n_test']} test messages): supportbot {_pct(ours['accuracy'])} "
            f"accuracy, TF-IDF + LinearSVC {_pct(svm['accuracy'])}, fastText {_pct(ft['accuracy'])}.")


def hwu64_section(results: dict) -> list[str]:
    """HWU64 measured as BANKING77 is: a second data set, where a choice that fits BANKING77 alone would show."""
    hwu64 = results["hwu64"]
    ours, svm, ft = hwu64["supportbot"], hwu64["tfidf_linearsvc"], hwu64["fasttext"]
    return [
        "## HWU64: the same systems on a second data set",
        "",
        f"`{results['meta']['commands']['hwu64']}`: the same systems, settings and protocol as BANKING77's above. "
        "Data: /work/shared/datasets/hwu64 (Liu et al. 2019, CC BY 4.0; the authors' first cross-validation fold), "
        f"{ours['n_labels']} intents of a home assistant: {ours['n_fit'] + ours['n_val']} training rows, of which "
        f"{ours['n_val']} are the validation split; {ours['n_test']} test rows.",
        "",
        *system_table(hwu64),
        "",
        f"supportbot against TF-IDF + LinearSVC: {_points(ours['accuracy'], svm['accuracy'])}; against fastText: "
        f"{_points(ours['accuracy'], ft['accuracy'])} (accuracy).",
        "",
        *_alone(results, "hwu64"),
    ]


def _held_out(systems: dict) -> tuple[str, ...]:
    """The intents a hold-out run made out of scope (every system of the run names the same ones)."""
    return tuple(systems["supportbot"]["held_out"])


def oos_summary(oos: dict) -> str:
    parts = [f"{DATA_NAMES[name]} ({len(_held_out(systems))} intents held out) "
             + ", ".join(f"{SYSTEM_NAMES[key]} {_pct(r['inscope_accuracy'])} / {_pct(r['oos_recall'])}"
                         for key, r in systems.items())
             for name, systems in oos.items()]
    return "- Out of scope, in-scope accuracy / out-of-scope recall: " + "; ".join(parts) + "."


def oos_section(results: dict) -> list[str]:
    """Out-of-scope detection where the data has no such class: intents held out, the threshold chosen on
    validation, for every system."""
    lines = [
        "## Out of scope: intents held out of BANKING77 and HWU64",
        "",
        "Neither data set has an out-of-scope class, so each gets one the usual way: `--hold-out K` makes K of its "
        "intents, drawn once by a fixed seed (training/benchmark/data.py), out of scope. No system learns from them; "
        "the validation split gets the same share of their training rows as of the others', and each system's "
        "threshold (a top score below it answers out of scope: a probability for supportbot and fastText, "
        "LinearSVC's margin) is the one with the best validation accuracy; the test set is read once. In-scope "
        "accuracy: on the test messages of the intents kept (an out-of-scope answer there is wrong); out-of-scope "
        "recall: the share of the held-out intents' test messages answered out of scope.",
        "",
    ]
    for name, systems in results["oos"].items():
        ours, held = systems["supportbot"], _held_out(systems)
        lines += [
            f"**{DATA_NAMES[name]}**: `{results['meta']['commands'][f'oos_{name}']}`. Held out ({len(held)} of "
            f"{ours['n_labels'] + len(held)} intents): {', '.join(held)}.",
            "",
            "| system | in-scope accuracy | out-of-scope recall | threshold | accuracy (all) | macro-F1 (all) |",
            "|---|---|---|---|---|---|",
        ]
        lines += [f"| {SYSTEM_NAMES[key]} | {_f(r['inscope_accuracy'], 4)} | {_f(r['oos_recall'], 4)} | "
                  f"{_f(r['oos_threshold'], 4)} | {_f(r['accuracy'], 4)} | {_f(r['macro_f1'], 4)} |"
                  for key, r in systems.items()]
        lines.append("")
    return [*lines, *_alone(results, "oos")]


def seeds_summary(starter: dict) -> str:
    """The lowest figure per language over the seeds, to four places: a value just under the 0.95 that #17 asks for
    must not round up to it."""
    low = starter["over_seeds"]
    languages = [lang for lang in low if lang != "all"]
    return (f"Over {len(starter['seeds'])} seeds the lowest per language: accuracy "
            + ", ".join(f"{lang} {_f(low[lang]['accuracy']['min'], 4)}" for lang in languages) + "; macro-F1 "
            + ", ".join(f"{lang} {_f(low[lang]['macro_f1']['min'], 4)}" for lang in languages) + ".")


def seeds_section(results: dict) -> list[str]:
    """The starter release with each seed: how much of its gold figures one seed's luck makes."""
    starter = results["starter"]
    first, *others = starter["seeds"]
    languages = [lang for lang in starter["over_seeds"] if lang != "all"]

    def row(label: str, figures: dict, epochs: str = "", seconds: str = "") -> str:
        cells = [figures["all"]["accuracy"], figures["all"]["macro_f1"]]
        cells += [figures[lang][metric] for lang in languages for metric in ("accuracy", "macro_f1")]
        return f"| {label} | " + " | ".join(_f(c, 4) for c in cells) + f" | {epochs} | {seconds} |"

    def over(statistic: str) -> dict:
        return {key: {metric: v[statistic] for metric, v in figures.items()} for key, figures in starter["over_seeds"].items()}

    return [
        f"The same release with {len(starter['seeds'])} seeds: config.toml's ({first['seed']}, the model above) and "
        f"{', '.join(str(seed['seed']) for seed in others)}, each trained by `bench/phases/starter_seed.py` with "
        "config.toml's other settings in a process of its own (no policy sweep: the policy is config.toml's), all "
        "measured on the gold set as the bot answers:",
        "",
        "| seed | accuracy | macro-F1 | " + " | ".join(f"{lang} accuracy | {lang} macro-F1" for lang in languages)
        + " | epochs | seconds |",
        "|---" * (5 + 2 * len(languages)) + "|",
        *(row(str(seed["seed"]), {"all": seed, **seed["per_language"]}, str(seed["epochs"]), f"{seed['release_s']:.0f}")
          for seed in starter["seeds"]),
        row("min", over("min")),
        row("mean", over("mean")),
        "",
    ]


def _measured_alone(results: dict, sections: tuple[str, ...]) -> str:
    """Which of these sections hold figures measured alone since the whole run, not in it."""
    alone = [name for name in sections
             if "measured" in results[name] or name in results["meta"].get("measured_alone", {})]
    return f" Measured alone since the whole run, not in it: {', '.join(alone)}." if alone else ""


def _target(what: str, measured: str, met: bool | None) -> str:
    return f"| {what} | {measured} | {'–' if met is None else 'met' if met else 'not met'} |"


def targets_section(results: dict) -> list[str]:
    """Issue #17's targets against this file's figures: what each measured, met or not."""
    b77, hwu64, serving, memory = results["banking77"], results["hwu64"], results["serving"], results["ab_memory"]
    ours, svm, ft = hwu64["supportbot"], hwu64["tfidf_linearsvc"], hwu64["fasttext"]
    over, seeds = results["starter"]["over_seeds"], [str(s["seed"]) for s in results["starter"]["seeds"]]
    p50, p99, retrain = serving["latency_ms"]["p50"], serving["latency_ms"]["p99"], b77["supportbot"]
    lines = [
        "## #17 targets",
        "",
        "Each target of issue #17 against the figures on this page (the sections below say how each was measured)."
        + _measured_alone(results, ("banking77", "hwu64", "oos", "starter", "serving", "ab_memory")),
        "",
        "| target | measured | |",
        "|---|---|---|",
        _target("BANKING77 test accuracy ≥ 0.937", _f(b77["supportbot"]["accuracy"], 4),
                b77["supportbot"]["accuracy"] >= 0.937),
        _target("HWU64 test accuracy ≥ TF-IDF + LinearSVC's + 1.5 points",
                f"{_f(ours['accuracy'], 4)} vs {_f(svm['accuracy'], 4)} ({_points(ours['accuracy'], svm['accuracy'])})",
                ours["accuracy"] - svm["accuracy"] >= 0.015),
        _target("HWU64 test accuracy > fastText's",
                f"{_f(ours['accuracy'], 4)} vs {_f(ft['accuracy'], 4)} ({_points(ours['accuracy'], ft['accuracy'])})",
                ours["accuracy"] > ft["accuracy"]),
    ]
    lines += [_target(f"starter gold accuracy and macro-F1 ≥ 0.95 in {lang}, every seed ({', '.join(seeds)})",
                      f"lowest accuracy {_f(over[lang]['accuracy']['min'], 4)}, macro-F1 "
                      f"{_f(over[lang]['macro_f1']['min'], 4)}",
                      min(over[lang]["accuracy"]["min"], over[lang]["macro_f1"]["min"]) >= 0.95)
              for lang in over if lang != "all"]
    lines += [
        _target("`Classifier.predict` p50 ≤ 0.5 ms (serving path)", f"{p50:.3f} ms", p50 <= 0.5),
        _target("`Classifier.predict` p99 ≤ 1 ms (serving path)", f"{p99:.3f} ms", p99 <= 1.0),
        _target(f"retrain of 10,000 examples ≤ 180 s (the BANKING77 run: `train()` on its {retrain['n_fit'] + retrain['n_val']:,} "
                f"rows, the whole schedule; not the retraining table's 10,000 row, a fixed {results['meta']['scaling_epochs']} "
                "epochs)", f"{retrain['train_s']:.0f} s, {retrain['epochs']} epochs (+ {retrain['export_s']:.1f} s export)",
                retrain["train_s"] <= 180),
        _target("the bot process with two models ≤ 150 MB: everything `supportbot run` imports",
                f"{memory['rss_two_models_whole_bot_mb']:.0f} MB (serving path alone {memory['rss_two_models_mb']:.0f} MB)",
                memory["rss_two_models_whole_bot_mb"] <= 150),
    ]
    lines += [_oos_target(name, d) for name, d in results["oos"].items()]
    unmet = [key for key, met in _target_checks(results).items() if not met]
    if unmet:
        lines += ["", "Where the targets not met stop (issue #17 was time-boxed research):", ""]
        lines += [f"- {UNMET_NOTES[key]}" for key in unmet]
    return [*lines, ""]


def _oos_target(name: str, d: dict) -> str:
    """The issue asks for both figures better, neither traded away; with no earlier figure to compare, the bar
    is the strongest baseline in the same run."""
    ours, svm = d["supportbot"], d["tfidf_linearsvc"]
    return _target(f"out of scope, {name}: in-scope accuracy and out-of-scope recall both ≥ TF-IDF + LinearSVC's",
                   f"{_f(ours['inscope_accuracy'], 4)} / {_f(ours['oos_recall'], 4)} vs {_f(svm['inscope_accuracy'], 4)} / "
                   f"{_f(svm['oos_recall'], 4)}",
                   ours["inscope_accuracy"] >= svm["inscope_accuracy"] and ours["oos_recall"] >= svm["oos_recall"])


def _target_checks(results: dict) -> dict[str, bool]:
    """The targets UNMET_NOTES explains, each met or not."""
    b77, hwu64, latency = results["banking77"]["supportbot"], results["hwu64"], results["serving"]["latency_ms"]
    return {
        "accuracy": b77["accuracy"] >= 0.937
        and hwu64["supportbot"]["accuracy"] - hwu64["tfidf_linearsvc"]["accuracy"] >= 0.015,
        "latency": latency["p50"] <= 0.5 and latency["p99"] <= 1.0,
        "retrain": b77["train_s"] <= 180,
        "starter": all(min(lang["accuracy"]["min"], lang["macro_f1"]["min"]) >= 0.95
                       for name, lang in results["starter"]["over_seeds"].items() if name != "all"),
        "memory": results["ab_memory"]["rss_two_models_whole_bot_mb"] <= 150,
        "oos": all(d["supportbot"]["oos_recall"] >= d["tfidf_linearsvc"]["oos_recall"] for d in results["oos"].values()),
    }


UNMET_NOTES = {
    "accuracy": "**Accuracy (BANKING77 ≥ 0.937, HWU64 + 1.5 points over TF-IDF + LinearSVC).** Tried on the validation "
    "splits (tables below): the learning rate and its schedule, batch size, n-grams per message and their width, label "
    "smoothing, a wider BiLSTM, one to three members, the members' recurrent layout, the validation share, the "
    "number of epochs, and the best epoch kept by accuracy instead of loss. What moved validation accuracy was the "
    "cosine schedule from a high peak, 256 n-grams and a second member; nothing since has moved it beyond the "
    "seeds' noise (half a point on BANKING77, a point on HWU64): no setting passed 0.9211 on BANKING77's validation "
    "split. The paper's 0.9366 and 0.9336 come from encoders pretrained on large corpora, which a BiLSTM trained "
    "from scratch on 10,003 messages does not reach here. On HWU64's validation split (seed 1234) the shipped "
    "settings scored 0.9257 against the baseline's 0.9006; the test split, read once, gives the margin above. "
    "Not tried, each a new input or training scheme rather than a setting: character or "
    "subword inputs to the LSTM, pretrained word vectors shipped in a package, distillation from an ensemble.",
    "latency": "**Serving latency (p50 ≤ 0.5 ms, p99 ≤ 1 ms).** Tried: each message run at the shortest sequence "
    "length that holds it (shipped), the members' recurrent loops batched into one (`recurrent = \"stacked\"`: about "
    "half the latency, but 0.5 to 0.75 points less accurate on validation, so not the default), and dynamic-range "
    "and float16 quantisation (not shipped; the serving variants table says why). The figure also swings with "
    "this shared machine's load: models of the same shape served at 0.725 ms p50 idle and 1.9 ms under a load "
    "average of 9.",
    "retrain": "**Retraining 10,000 examples in ≤ 180 s.** The schedule is already half its earlier length (6 epochs, "
    "chosen on validation); the BANKING77 run's time also carries the machine's load, recorded above.",
    "starter": "**Starter domain, ≥ 0.95 in each language for every seed.** The schedule was chosen on BANKING77's "
    "and HWU64's validation splits and checked on the starter domain's 5-fold cross-validation (the table below: "
    "the 6-epoch loop_two_members_u64_e6 row against the 12-epoch two_members_u64_val5), never on the gold set, "
    "which is read once per model. With 339 English and 340 Chinese gold messages, one message is 0.3 points: a "
    "seed a message short of 0.95 is that seed's draw, and choosing settings to lift it would be tuning on the gold set.",
    "memory": "**The bot process with two models ≤ 150 MB.** Serving already loads neither TensorFlow, scikit-learn nor "
    "scipy; what is left is two LiteRT models, their interpreters and the bot's own imports. Dynamic-range "
    "quantisation makes each model file 4× smaller (serving variants table) but is not shipped, for the reasons "
    "given there.",
    "oos": "**Out of scope.** The 6-epoch schedule was chosen on in-scope validation accuracy alone, and it traded "
    "out-of-scope recall away: the 12-epoch model, measured alone at commit 6de4056 on the previous loop, had "
    "in-scope accuracy / recall 0.8903 / 0.6175 on BANKING77 and 0.8568 / 0.6643 on HWU64. The threshold is chosen "
    "on validation only; why it lands where it does for the 6-epoch model was not measured. "
    "Next: choose the schedule with validation out-of-scope recall in the criterion, "
    "then calibrate the threshold per intent.",
}


def _p(latency: dict) -> str:
    return f"{latency['p50']:.1f} | {latency['p99']:.1f} | {latency['n']}"


def actions_section(a: dict | None) -> list[str]:
    """What an answer from the shop's system costs, and what a slow shop costs other customers (absent from
    results measured before the phase existed)."""
    if a is None:
        return []
    slow = a["slow_shop"]
    alone = a.get("measured")
    return [
        "## Answers from the shop's system (actions)",
        "",
        *([f"Measured alone by `{alone['command']}` on {alone['date']} (load average "
           f"{', '.join(map(str, alone['load_average_start']))} at the start), not in the run above.", ""] if alone else []),
        "`bench/phases/actions.py`: the demo shop as its own process (`python -m demo_shop`), signed calls through "
        "`bot/actions`; the real Telegram application (polling) against the local Bot API server, outgoing rate "
        "limit off. Latency of an answer: from the update queued to the answer's sendMessage arriving.",
        "",
        "| what | p50 (ms) | p99 (ms) | n |",
        "|---|---|---|---|",
        f"| one call, `ActionsClient.call` to the demo shop's order_status | {_p(a['client_ms'])} |",
        f"| one customer: an answer the shop's system fills in | {_p(a['telegram']['action_ms'])} |",
        f"| the same customer: an answer from the model alone | {_p(a['telegram']['plain_ms'])} |",
        f"| {slow['plain_users']} customers, plain questions, nothing else going on | {_p(slow['plain_alone_ms'])} |",
        f"| the same, while {slow['slow_users']} other customers wait on an endpoint taking {slow['slow_s']:.0f} s | "
        f"{_p(slow['plain_beside_slow_ms'])} |",
        f"| those {slow['slow_users']} customers' answers | {_p(slow['slow_answers_ms'])} |",
        "",
        f"An action adds {a['telegram']['added_p50_ms']:.1f} ms to the median answer. The call is awaited on the event "
        "loop, never on the worker that owns the database and the model, so no answer is computed behind it, and the "
        "update of a message waiting on the shop is confirmed to Telegram as soon as the message is stored "
        "(bot/channels/delivery.py), so the polling ledger holds nobody's updates back behind a slow call: other "
        f"customers' p99 is {slow['plain_beside_slow_ms']['p99']:.0f} ms beside the slow endpoint and "
        f"{slow['plain_alone_ms']['p99']:.0f} ms without it.",
        "",
    ]


def handoff_pace_section(pace: dict | None) -> list[str]:
    """How long a customer's message waits to appear in the staff topic, by concurrent conversations in one group
    (absent from results measured before the phase existed)."""
    if pace is None:
        return []
    lines = [
        "## One staff group's pace (handoffs)",
        "",
        f"`bench/phases/handoff_pace.py`: the real application relaying held customers' messages into one staff "
        f"group under PTB's AIORateLimiter at Telegram's {pace['group_per_minute']} messages a minute per group, the "
        f"minute scaled to {pace['minute_s']:g} s; times below are measured × {pace['scale']:g} (real time). Each "
        f"customer writes one message a minute for {pace['minutes']} minutes. Wait: from the customer's update "
        "queued to the copy arriving in their topic; the bot's own handling time is multiplied too, so the smallest "
        "waits are overstated (a few ms measured read as tenths of a second).",
        "",
        "| conversations at once | messages | wait p50 (s) | wait p95 (s) | wait p99 (s) |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {load['conversations']} | {load['messages']} | {load['wait_real_s']['p50']:.1f} | "
              f"{load['wait_real_s']['p95']:.1f} | {load['wait_real_s']['p99']:.1f} |" for load in pace["loads"]]
    if (alone := pace.get("measured")) is not None:
        lines += ["", f"Measured alone by `{alone['command']}` on {alone['date']} (load average "
                  f"{', '.join(map(str, alone['load_average_start']))} at the start), not in the run above."]
    return [*lines, ""]


def _timed(what: str, t: dict) -> str:
    return f"| {what} | {t['median']:.1f} | {t['min']:.1f} | {t['max']:.1f} | {len(t['runs'])} |"


def stats_section(s: dict | None) -> list[str]:
    """How long /stats takes on a million messages, and what outcomes cost an answer (absent from results measured
    before the phase existed)."""
    if s is None:
        return []
    kept = s["bookkeeping_ms"]
    lines = [
        "## Outcomes and /stats on a million messages",
        "",
        f"`bench/phases/stats.py`: a database with the real schema and indexes holding {s['messages']:,} messages "
        f"({s['answered']:,} customer messages from {s['customers']:,} customers over {s['days']} days, each answered, "
        f"with its prediction and outcome row; {s['fallbacks']:,} fallbacks), {s['db_mb']:.0f} MB, built in "
        f"{s['build_s']:.0f} s. The default /stats window ({s['days']} days) counts all {s['counted']:,} answers: the "
        "worst case for it. Times of the real runtime over that file:",
        "",
        "| what | median (ms) | min (ms) | max (ms) | runs |",
        "|---|---|---|---|---|",
        _timed("/stats and `supportbot stats`: what went quiet resolved, three queries on covering indexes, the tallies",
               s["stats_ms"]),
        _timed("its text", s["text_ms"]),
        _timed("the chart (PNG, matplotlib's Agg canvas)", s["chart_ms"]),
        "",
        f"The first chart in a process also imports matplotlib: {s['chart_first_ms']:.0f} ms. What an answer adds for "
        f"its outcome there (the customer's open row found through its index and decided, a row added): p50 "
        f"{kept['p50']:.2f} ms, p99 {kept['p99']:.2f} ms over {kept['n']:,} answers. The clock's job resolved "
        f"{s['expired']:,} rows whose window had passed in {s['expire_ms']:.0f} ms.",
    ]
    if (alone := s.get("measured")) is not None:
        lines += ["", f"Measured alone by `{alone['command']}` on {alone['date']} (load average "
                  f"{', '.join(map(str, alone['load_average_start']))} at the start), not in the run above."]
    return [*lines, ""]


def _wilson(share: float, n: int) -> str:
    """The 95% Wilson interval of a share measured over n runs."""
    z = 1.96
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{_pct(max(centre - half, 0))}–{_pct(min(centre + half, 1))}"


AB_TARGETS = {"worse": ("rollback", "≥ 95% rolled back"), "better": ("promote", "≥ 80% promoted"),
              "same": ("rollback", "≤ 5% rolled back")}


def ab_section(ab: dict | None, memory: dict | None) -> list[str]:
    """A/B tests simulated: how often each case was decided right, how long it took; what two models cost in
    memory; and the designs tried (absent from results measured before the phases existed)."""
    if ab is None:
        return []
    d, r, t, runs = ab["design"], ab["reactions"], ab["traffic"], ab["runs_per_case"]
    lines = [
        "## A/B tests of candidate models (simulated)",
        "",
        f"`bench/phases/ab.py` (bench/ab_simulation.py): {runs} tests per case, each with its own seed, at "
        f"{t['conversations_per_day']} conversations a day ({t['returning']:.0%} of them by customers seen before), "
        f"the candidate on {d['share']:.0%} of customers by the bot's own sticky assignment, at most {d['max_days']} "
        "nights, each night decided by `training.ab_decision.look`, the function the bot's nightly look calls. "
        "Customers ask the starter domain's questions (training and gold examples); a right answer is resolved "
        f"with probability {r['right_resolved']}, else the customer asks for a person; a wrong one is rephrased or "
        f"👎'd with probability {r['wrong_complains']} ({r['thumbs_down_share']:.0%} of those 👎, and the customer "
        "asks again), else the customer goes quiet, which counts as resolved as it does in the bot; a conversation "
        f"has at most {r['max_answers']} answers, its last failure a request for a person. The design is "
        f"config.toml's [promotion]: margin {100 * d['margin']:g} points on the resolved rate, guards' margins "
        f"{100 * d['handoff_margin']:g} (handoff) and {100 * d['thumbs_down_margin']:g} (👎) points, alpha "
        f"{d['alpha_promote']} to promote, {d['alpha_rollback']} to roll back, {d['alpha_guards']} per guard, spent "
        f"over the nights (O'Brien–Fleming). {ab['seconds']:.0f} s for all {3 * runs} tests.",
        "",
        "| case | live resolves | candidate resolves | rolled back | promoted | no decision (live kept) | target | "
        "95% interval of the target's share | median conversations to decide | median nights |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, case in ab["cases"].items():
        v = case["verdicts"]
        verdict, target = AB_TARGETS[name]
        lines.append(f"| {name} | {_pct(case['live_resolved'])} | {_pct(case['candidate_resolved'])} | "
                     f"{_pct(v['rollback'])} | {_pct(v['promote'])} | {_pct(v['expire'])} | {target} | "
                     f"{_wilson(v[verdict], runs)} | {case['median_conversations']:,.0f} | {case['median_days']:g} |")
    lines += ["", "Conversations to decide count both arms, up to the night that decided (all 28 nights' when none did)."]
    lines += _ab_memory(memory) + _ab_designs(_jsonl(AB_DESIGN_RECORD))
    if (alone := ab.get("measured")) is not None:
        lines += ["", f"Simulated alone by `{alone['command']}` on {alone['date']}, not in the run above."]
    return [*lines, ""]


def _ab_memory(memory: dict | None) -> list[str]:
    if memory is None:
        return []
    lines = [
        "",
        "Memory with two models (`bench/phases/ab_memory.py`: the starter model, and a copy of it as an A/B test's "
        f"candidate on half the customers, {memory['handled_per_round']} gold messages answered through "
        "`Engine.handle` with each):",
        "",
        "| the bot process | RSS (MB) |",
        "|---|---|",
        f"| serving path and the A/B modules, live model alone | {memory['rss_one_model_mb']:.0f} |",
        f"| the same, live model and candidate | {memory['rss_two_models_mb']:.0f} |",
        f"| everything `supportbot run` imports ({', '.join(memory['the_rest'])} too), two models | "
        f"{memory['rss_two_models_whole_bot_mb']:.0f} |",
        "",
        f"The candidate adds {memory['rss_two_models_mb'] - memory['rss_one_model_mb']:.0f} MB. Against the 150 MB "
        f"asked for with two models: the serving path {'stays under' if memory['rss_two_models_mb'] < 150 else 'is over'} "
        f"it; the whole process is {memory['rss_two_models_whole_bot_mb'] - memory['rss_two_models_mb']:.0f} MB "
        f"bigger{_loaded(memory.get('libraries_after_the_rest'))}: `supportbot run` imports every command "
        "(the gold-set evaluation's scikit-learn and scipy only when an evaluation runs, never to answer). The A/B "
        "test itself adds no library to the bot process: its boundaries are computed with scipy when a test is "
        "designed, in the training process, and stored with it.",
    ]
    if (alone := memory.get("measured")) is not None:
        lines += ["", f"Measured alone by `{alone['command']}` on {alone['date']}, not in the run above."]
    return lines


def _loaded(libraries: list[str] | None) -> str:
    """Which heavy libraries the whole process had loaded (measured since the phase recorded them)."""
    return f" ({', '.join(libraries)} loaded)" if libraries else ""


def _ab_designs(rows: list[dict]) -> list[str]:
    """The designs tried before the shipped one, one row per `bench/experiments/ab_design.py` run."""
    if not rows:
        return []
    lines = [
        "",
        "Designs tried (`.venv/bin/python -m bench.experiments.ab_design NAME OVERRIDES NOTE`, "
        f"`{AB_DESIGN_RECORD.relative_to(ROOT)}`; the same simulation and seeds):",
        "",
        "| run | what changed | tests per case | worse rolled back | better promoted | same rolled back | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['name']} | {r['note']} | {r['runs_per_case']} | {_pct(r['worse_rollback_rate'])} | "
              f"{_pct(r['better_promote_rate'])} | {_pct(r['same_false_rollback_rate'])} | {r['seconds']} |" for r in rows]
    return lines


def policy_choice(starter: dict, cv: dict | None) -> list[str]:
    """How [policy] out_of_scope_weight and suggest were chosen: out of fold and on validation, never on gold."""
    chosen = starter["policy"]
    lines = [
        "Metrics are of what the bot does: the out-of-scope class's probability is multiplied by [policy] "
        f"out_of_scope_weight ({chosen['out_of_scope_weight']}) and renormalised, then a message the bot falls "
        f"back on (top probability below [policy] suggest, {chosen['suggest']}, or out of scope on top) counts as "
        "out of scope. The weight was chosen on the training data, never on gold: the one with the best "
        "cross-validated accuracy over all messages, out-of-scope ones included, among those that do not lower "
        "in-scope accuracy (#2 asks for out-of-scope recall without giving up in-scope answers). The tables also "
        "show what a higher weight or fallback threshold would trade.",
        "",
    ]
    sweeps = [(f"the validation split the starter model held out ({starter['validation_sweep'][0]['n']} messages)",
               starter["validation_sweep"])]
    if cv:
        sweeps.insert(0, (f"{cv['folds']}-fold cross-validation of the {cv['n']:,} training examples (each one "
                          f"predicted by the model that did not train on it; `bench/phases/policy_cv.py`, {cv['seconds']:.0f} s)",
                          cv["sweep"]))
    for title, rows in sweeps:
        lines += [
            f"On {title}:",
            "",
            "| out-of-scope weight | fall back below | accuracy | en | zh | out-of-scope recall | in-scope accuracy |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            a = r["answered"]
            lines.append(f"| {r['out_of_scope_weight']} | {r['suggest']} | {_f(a['accuracy'], 4)} | {_f(a['en_accuracy'], 4)} | "
                         f"{_f(a['zh_accuracy'], 4)} | {_f(a['oos_recall'], 4)} | {_f(a['inscope_accuracy'], 4)} |")
        lines.append("")
    return lines


def _jsonl(path: Path) -> list[dict]:
    """The records of an experiment log (none if nobody has run one yet)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def starter_experiments(path: Path) -> list[str]:
    """Model selection on the starter domain, one row per `bench/experiments/starter_cv.py` run (cross-validation)."""
    rows = _jsonl(path)
    if not rows:
        return []
    lines = [
        "## Model selection on the starter domain (cross-validation of the training data)",
        "",
        "Each row is one `.venv/bin/python -m bench.experiments.starter_cv NAME OVERRIDES NOTE` run "
        f"(`{path.relative_to(ROOT)}`): config.toml's settings plus the overrides, trained five times on "
        "the starter training data, every example scored as the bot would answer it by the model that did not "
        "train on it. The gold set is never read there.",
        "",
        "| run | what changed | examples | accuracy | en | zh | out-of-scope recall | in-scope accuracy | seconds | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        a = r["answered"]
        lines.append(f"| {r['name']} | {r['note']} | {r['n']:,} | {a['accuracy']:.4f} | {a['en_accuracy']:.4f} | "
                     f"{a['zh_accuracy']:.4f} | {a['oos_recall']:.4f} | {a['inscope_accuracy']:.4f} | {r['seconds']} | "
                     f"{r['load_average']} |")
    return [*lines, ""]


def experiments(path: Path) -> list[str]:
    """Model selection on validation splits (BANKING77's, then both BANKING77's and HWU64's), one row per
    `bench/experiments/tune.py` run."""
    rows = _jsonl(path)
    if not rows:
        return []
    lines = [
        "## Model selection: what we tried (validation split only)",
        "",
        "Each row is one `.venv/bin/python -m bench.experiments.tune NAME OVERRIDES NOTE` run "
        f"(`{path.relative_to(ROOT)}`): "
        "the nightly training code on BANKING77's train.csv, scored on the 1,001-message validation split "
        "`train()` holds out (seed 1234; a different seed also draws a different split). test.csv is never read "
        "there; only the table at the top of this page touches it. The starting point was the previous default "
        "(Adam at a constant 0.002, batch 32, up to 40 epochs with patience 4, 160 n-grams per message), which the "
        "previous `make bench` (bench/results.json at commit b0f7faf) measured at 0.9097 test accuracy after 476 s, "
        "below the baseline. Times are wall seconds on the shared two-core machine, "
        "often with two runs side by side (load average in the last column), so compare them loosely.",
        "",
        "Since the rows that name a data set, each setting is scored on the validation splits of both BANKING77 and "
        "HWU64 (10% held out), never one alone; rows without one are BANKING77's. The rows with StackedBiLSTM "
        "ran with the members' LSTMs in one loop, `[model] recurrent = \"stacked\"` today.",
        "",
        "| run | data | what changed | validation accuracy | train (s) | epochs | load |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['name']} | {r.get('data', 'banking77')} | {r['note']} | {r['val_accuracy']:.4f} | "
              f"{r['train_s']:.0f} | {r['epochs']} | {r['load_average']} |" for r in rows]
    lines += [
        "",
        "What helped: a high peak learning rate with cosine decay (the higher the peak, up to 0.02, the better: "
        "0.005, 0.01, 0.02 gave 0.8941, 0.9001, 0.9051), batch 64 (half the steps of 32, about as accurate: 0.8941 vs 0.8961 at 0.005), "
        "and 256 n-grams per message instead of 160 (160 cut 15% of BANKING77's messages, "
        "losing their word pairs, which came last). What did not: 0.04 (past the peak), label smoothing 0.1, "
        "a wider n-gram embedding (128), 384 n-grams, a bigger BiLSTM (128 units, 128-d embedding). "
        "Differences under half a point are about 5 of the 1,001 messages: within the noise (seed 7, which also "
        "draws another split, gave 0.9111 for the chosen settings). Two heads with their own losses, averaged, "
        "replaced an earlier model that concatenated the two branches into one softmax. Two members of 64 units "
        "(members2_u64) scored best; shipped once serving ran each message at the shortest sequence length that "
        "holds it, which brought two members back under the 1 ms budget.",
        "",
        "On the training loop every run uses since #18 (training/fit_loop.py; the loop_* rows), the length of the "
        "cosine schedule and the members' recurrent layout were chosen again on both validation splits and two "
        "seeds (1234 and 7, each also drawing its own split). Means of the four scores: 6 epochs with a BiLSTM "
        "per member 0.9151, against 0.9126 for the previous 12 (default_2x64 and its seed 7, on the previous "
        "loop); members in one loop (stacked) 0.9076 at 6 epochs, 0.9106 at 8 and 0.9106 at 12. On seed 1234 "
        "alone, 4, 6 and 8 epochs per member gave 0.9169, 0.9209 and 0.9109. Shipped: 6 epochs, a BiLSTM per "
        "member: as accurate as 12 within the noise (which the seeds show is about a point on HWU64) in half "
        "the training time. The stacked layout serves a message in about half the time (below) but scored "
        "0.5 to 0.75 points lower on average, so it stays an option (`recurrent`), not the default.",
        "",
    ]
    return lines


def serving_variants(path: Path) -> list[str]:
    """LiteRT export variants of tuned models, one row per `bench/experiments/serving_variants.py` line."""
    rows = _jsonl(path)
    if not rows:
        return []
    lines = [
        "## Serving variants: what we tried (validation split only)",
        "",
        "Each row is one export of a model `bench.experiments.tune --keep` saved, served by `Classifier` one "
        "message at a time over the validation split, tokenisation included "
        f"(`.venv/bin/python -m bench.experiments.serving_variants NAME MODEL_DIR DATA_DIR NOTE`, `{path.relative_to(ROOT)}`). "
        "The variants of one model take turns, so they share the machine's load; rows of different models "
        "and loads compare loosely. \"largest difference\" is the largest probability difference from the float32 export.",
        "",
        "| model | variant | what changed | p50 (ms) | p99 (ms) | model (MB) | validation accuracy | largest difference | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['name']} | {r['variant']} | {r['note']} | {r['p50_ms']} | {r['p99_ms']} | {r['model_mb']} | "
              f"{r['val_accuracy']:.4f} | {r['max_abs_diff']:.2g} | {r['load_average']} |" for r in rows]
    lines += [
        "",
        "Not shipped. Dynamic-range quantisation (int8 weights) made the per-member model 4× smaller and "
        "served it faster in both turns measured (p50 0.571 vs 0.725 ms idle, 1.80 vs 1.91 ms under load 9), "
        "with validation accuracy unchanged; but it slowed the stacked model 2.3× in both, and its answers "
        "differ from the trained model's by up to 0.008 in probability, enough to move messages across the "
        "policy's thresholds. Shipping it means gating and calibrating the thresholds on the quantised "
        "export itself, which we have not done. float16 weights halve the file but not the time, and the "
        "serving process's peak memory grows (147 vs 88 MB idle), since they are widened to float32 when loaded.",
        "",
    ]
    return lines


def cluster(d: dict | None) -> list[str]:
    """The multi-worker section (absent from results measured before the phase existed)."""
    if d is None:
        return []
    alone = d.get("measured")
    note = [f"Measured alone by `{alone['command']}` on {alone['date']} at {_commit(alone['git'])} (load "
            f"average {', '.join(map(str, alone['load_average_start']))} at the start), not in the run above.", ""] if alone else []
    lines = cluster_section(d, f"{FIGURES.relative_to(ROOT)}/{MEMORY_FIGURE}")
    return [*lines[:2], *note, *lines[2:]]


def write_report(results: dict, markdown: Path = BENCHMARKS, figures: Path = FIGURES) -> None:
    figures.mkdir(parents=True, exist_ok=True)
    plot_scaling(results, figures / SCALING_FIGURE)
    if "distributed" in results:
        plot_memory(results["distributed"], figures / MEMORY_FIGURE)
    markdown.write_text(render(results), encoding="utf-8")


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS
    write_report(json.loads(source.read_text()))

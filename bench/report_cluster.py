"""BENCHMARKS.md's "Training on a cluster" section and its memory chart, from results.json `distributed`
(bench/phases/distributed.py). Every figure is read from the results; nothing here is measured."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

MEMORY_FIGURE = "training_memory.png"  # in FIGURES


def plot_memory(d: dict, path: Path) -> None:
    rows = d["memory_mb_by_examples"]
    fig = Figure(figsize=(6.4, 4.0), dpi=120)
    ax = fig.subplots()
    ax.plot([r["examples"] for r in rows], [r["peak_rss_mb"] for r in rows], "o-",
            label=f"train stage, {d['memory_steps']} steps from the files")
    ax.set_xscale("log")
    ax.set_xlabel("examples in the training set")
    ax.set_ylabel("peak RSS (MB)")
    ax.set_ylim(0, max(r["peak_rss_mb"] for r in rows) * 1.25)
    ax.set_title("Training memory vs training-set size")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


def _runs(name: str, summary: dict) -> str:
    each = ", ".join(f"{r['accuracy']:.4f}" for r in summary["runs"])
    return (f"| {name} | {summary['accuracy']:.4f} ± {summary['accuracy_sd']:.4f} | {each} | "
            f"{summary['train_s']:.0f} |")


def cluster_section(d: dict, figure: str) -> list[str]:
    """The section's lines; `figure`: the memory chart's path as BENCHMARKS.md links it."""
    one, two = d["one_worker"], d["two_workers"]
    gap = two["accuracy"] - one["accuracy"]
    noise = max(one["accuracy_sd"], two["accuracy_sd"])
    g = d["gradient_bytes"]
    lines = [
        "## Training on a cluster (MultiWorkerMirroredStrategy)",
        "",
        f"`bench/phases/distributed.py`. BANKING77 train.csv, scored on its test.csv; config.toml's [model] settings "
        f"with {d['epochs']} epochs (the whole cosine schedule over them), seeds {', '.join(map(str, d['seeds']))}. "
        "One worker: the train stage on this machine alone. Two workers: the chief and one `supportbot worker "
        "--index 1` process on 127.0.0.1, the same global batch split between them. Train time is the stage's "
        "wall time: export, starting the task processes and TensorFlow in each, training.",
        "",
        "| | accuracy (mean ± sd) | per seed | train (s, median) |",
        "|---|---|---|---|",
        _runs("one worker", one),
        _runs("two workers", two),
        "",
        f"Two workers minus one: {gap * 100:+.2f} points, against a seed-to-seed standard deviation of up to "
        f"{noise * 100:.2f} points. Both workers share this machine's {d['nproc']} cores, so two cannot be "
        "faster here: each does half the batch on one core instead of the whole batch on two, and adds the "
        "all-reduce. What this run shows is that the strategy trains the same model; what it cannot show is speed.",
        "",
        f"![training memory vs training-set size]({figure})",
        "",
        "| examples | intents | vocabulary | export (s) | set on disk (MB) | train stage peak RSS (MB) | "
        f"{d['memory_steps']} steps (s) |",
        "|---|---|---|---|---|---|---|",
        *[f"| {r['examples']:,} | {r['intents']} | {r.get('vocabulary', '–')} | {r['export_s']:.0f} | {r['set_mb']:.0f} | "
          f"{r['peak_rss_mb']:.0f} | {r['train_s']:.0f} |" for r in d["memory_mb_by_examples"]],
        "",
        _long_run(d["memory_long_run"]),
        "",
        "Synthetic sets made from the starter domain's examples with variations (bench/phases/distributed.py), "
        "each trained from its files in a fresh process for the same number of steps. The train stage reads "
        "through `tf.data` (a bounded shuffle buffer), so its memory does not follow the set's size; what it "
        "holds grows with the model, whose token embedding grows with the vocabulary up to [model] max_vocab "
        "(– : not recorded by that run). The export holds the examples in memory, as the chief's collect and "
        "clean do.",
        "",
        "### N machines, on paper",
        "",
        f"Per step, each worker exchanges the dense variables' gradients ({g['dense_parameters']:,} parameters, "
        f"{g['dense'] / 1e6:.1f} MB, ring all-reduce: 2 (N-1)/N of it) and the embedding rows its batch touched "
        f"({g['sparse_per_batch'] / 1e6:.1f} MB at most, all-gathered). Step time = the one-worker run's wall time per "
        "step / N + that volume / bandwidth; the global batch is fixed, so N machines take the same steps. The wall "
        "time includes the export and starting TensorFlow, which do not shrink with N: the speed-ups are upper bounds.",
        "",
        "| machines | 1 Gbit/s: step (s) | speed-up | 10 Gbit/s: step (s) | speed-up |",
        "|---|---|---|---|---|",
        *_estimate_rows(d["scaling_estimate"]),
        "",
        "An estimate, not a measurement: it ignores stragglers and overlap of compute with communication.",
        "",
    ]
    return lines


def _long_run(r: dict) -> str:
    samples = r["rss_mb_samples"]
    return (f"In the long run: {r['examples']:,} examples, {r['steps']:,} steps, resident memory every "
            f"{r['rss_mb_every']} steps from {samples[0]:.0f} MB to {samples[-1]:.0f} MB (highest {max(samples):.0f} MB).")


def _estimate_rows(rows: list[dict]) -> list[str]:
    by = {(r["machines"], r["gbit_s"]): r for r in rows}
    machines = sorted({r["machines"] for r in rows})
    slow, fast = sorted({r["gbit_s"] for r in rows})
    return [f"| {n} | {by[n, slow]['step_s']:.3f} | {by[n, slow]['speedup']:.2f}× | {by[n, fast]['step_s']:.3f} | "
            f"{by[n, fast]['speedup']:.2f}× |" for n in machines]

"""Phase: the bot process's memory with the live model alone, then with an A/B test's candidate beside it.

    python -m bench.phases.ab_memory WORK_DIR OUT.json

A fresh process imports the serving path with the A/B test's own modules (bot.runtime, the /ab use cases and
texts; no TensorFlow, no scipy), opens the runtime on a copy of the starter phase's var/ and answers HANDLED
gold messages through `Engine.handle`: RSS with one model. Then another process starts an A/B test as the
nightly run starts one (`training.canary.carry_out`), its candidate a copy of the live model on half the
customers; the bot picks it up as it does every few seconds (`LiveModel.refresh`) and the same messages go
through both models: RSS with two. Last, the process imports the rest of what `supportbot run` imports (the
`supportbot` command and the Telegram application; the heavy libraries they load, if any, are recorded): RSS of
the whole bot process with two models.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import bot.ab_summary  # noqa: F401  (the A/B test's modules, loaded as in the bot)
import bot.usecases.ab  # noqa: F401
from bench.files import write_json
from bot.replies import Incoming
from bot.runtime import Runtime, open_runtime
from storage.experiments import Experiments
from training.benchmark.serving import peak_rss_mb, rss_mb
from training.canary import Placement, carry_out
from training.config import load_config

HANDLED = 300
SHARE = 0.5
THE_REST = ("bot.cli", "bot.channels.telegram_app")  # what `supportbot run` imports beyond the serving path
LIBRARIES = ("scipy", "sklearn", "matplotlib", "tensorflow")  # the heavy ones, if loaded


def answer_all(runtime: Runtime, texts: list[str], round_: int) -> dict[str, int]:
    """Each text from its own customer; how many answers each arm gave ("none": no test)."""
    arms: dict[str, int] = {}
    for i, text in enumerate(texts):
        reply = runtime.engine.handle(Incoming("bench", f"u{i}", f"c{i}", text, "en", f"ab:{round_}:{i}"))
        arm = str(runtime.engine.messages.prediction(reply.message_id)["arm"] or "none")
        arms[arm] = arms.get(arm, 0) + 1
    return arms


def start_test(config: Path) -> None:
    """A copy of the live model as the candidate of a test on SHARE of customers, started by another process as
    the nightly run starts one (designing a test loads scipy, which the bot process never does)."""
    subprocess.run([sys.executable, "-m", "bench.phases.ab_memory", "--start-test", str(config)], check=True)


def _start_test(config: Path) -> None:
    runtime = open_runtime(load_config(config))
    live = runtime.registry.live()
    candidate = runtime.registry.new_version()
    shutil.copytree(Path(live["path"]), runtime.registry.models_dir / candidate)
    runtime.registry.register(candidate, live["metrics"])
    promotion = replace(runtime.config.promotion, canary_share=SHARE)
    carry_out(Placement.TEST, runtime.registry, Experiments(runtime.db), promotion, candidate, live["version"], run_id=None)
    runtime.close()


def main(work: Path, out: Path) -> None:
    var = work / "ab-memory-var"
    shutil.rmtree(var, ignore_errors=True)
    shutil.copytree(work / "var", var)
    (work / "ab_memory.toml").write_text((work / "config.toml").read_text().replace(str(work / "var"), str(var)))
    runtime = open_runtime(load_config(work / "ab_memory.toml"))
    texts = [e.text for e in runtime.domain.gold][:HANDLED]
    answer_all(runtime, texts, 0)
    one_model = rss_mb()
    start_test(work / "ab_memory.toml")
    runtime.model.refresh()  # what the running bot's model check does every few seconds
    assert runtime.model.canary is not None and runtime.model.canary.classifier is not None, "the candidate did not load"
    arms = answer_all(runtime, texts, 1)
    two_models = rss_mb()
    libraries = sorted(m for m in LIBRARIES if m in sys.modules)
    for name in THE_REST:
        importlib.import_module(name)
    assert "tensorflow" not in sys.modules, "the bot process imported TensorFlow"
    write_json(out, {
        "rss_one_model_mb": one_model,
        "rss_two_models_mb": two_models,
        "rss_two_models_whole_bot_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
        "libraries_before_the_rest": libraries,
        "libraries_after_the_rest": sorted(m for m in LIBRARIES if m in sys.modules),
        "the_rest": list(THE_REST),
        "answers_per_arm": arms,
        "handled_per_round": len(texts),
    })
    runtime.close()


if __name__ == "__main__":
    if sys.argv[1] == "--start-test":
        _start_test(Path(sys.argv[2]))
    else:
        main(Path(sys.argv[1]), Path(sys.argv[2]))

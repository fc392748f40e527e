"""The house's two rules, checked: imports flow bot -> training -> storage, and the bot process
never imports TensorFlow (only the training child and the commands that train do)."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import bot

ROOT = Path(__file__).resolve().parent.parent
# What may import what: a layer imports itself and the layers below it, never those above.
BELOW = {"storage": set(), "training": {"storage"}, "bot": {"training", "storage"}}


def imported_packages(path: Path) -> set[str]:
    """The first-party top-level packages a source file imports, lazily (inside functions) included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(BELOW)


@pytest.mark.parametrize("layer", sorted(BELOW))
def test_each_layer_imports_only_itself_and_the_layers_below(layer):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - BELOW[layer] - {layer})
        for path in sorted((ROOT / layer).rglob("*.py"))
    }
    assert {file: names for file, names in wrong.items() if names} == {}


def test_no_module_of_the_bot_imports_tensorflow():
    """Every module under bot/ is imported in a fresh interpreter (the CLI's training commands import
    TensorFlow inside their functions, when they run, which is allowed: they are the trainer)."""
    modules = [m.name for m in pkgutil.walk_packages(bot.__path__, "bot.") if not m.name.endswith("__main__")]
    assert len(modules) > 20
    code = (
        f"import importlib, sys\nfor name in {modules!r}:\n    importlib.import_module(name)\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'tf_keras') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

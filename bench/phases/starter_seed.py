"""Phase: the starter model trained again with another seed, to show how much its gold figures owe to one seed.

    python -m bench.phases.starter_seed WORK_DIR OUT.json SEED

The release `supportbot train` makes (bench/phases/starter.py: train, LiteRT export, gold evaluation as the
bot answers) with config.toml's model settings but SEED, in WORK_DIR's own registry, so the model the other
phases serve is untouched. No policy sweep: the policy is config.toml's, chosen on config.toml's seed.
OUT.json: the seed, its gold-set metrics, epochs and seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.files import write_json
from bench.phases.starter import gold_figures, train_starter


def main(work: Path, out: Path, seed: int) -> None:
    _, _, release, release_s = train_starter(work, seed)
    write_json(out, {"seed": seed, **gold_figures(release, release_s)})


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))

"""`python -m demo_shop --host H --port P --database FILE [--parent PID]`: what `supportbot run` starts
beside the bot. The signing secret comes from SUPPORTBOT_ACTIONS_SECRET, as the bot's does."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from demo_shop.app import serve


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m demo_shop", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--parent", type=int, help="stop when this process is gone")
    args = parser.parse_args()
    secret = os.environ.get("SUPPORTBOT_ACTIONS_SECRET")
    if not secret:
        print("error: SUPPORTBOT_ACTIONS_SECRET is not set", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(args.host, args.port, args.database, secret, args.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())

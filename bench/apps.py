"""The applications under test besides ``crosslink serve`` itself.

* ``hello``: a bare Quart "hello" app, the throughput ceiling of this stack on this machine.
* ``crosslink_app``: the crosslink application for the repository in ``$BENCH_REPO``, built
  when granian or hypercorn imports ``bench.crosslink_app`` (see that module).

``python -m bench.apps hello --port P`` serves ``hello`` exactly as ``crosslink serve`` serves
the real app: through :func:`kernel.server.run`, i.e. the same uvicorn configuration.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from quart import Quart

hello = Quart("hello")


@hello.get("/")
async def hello_world():
    return "Hello, world!"


def main() -> int:
    parser = argparse.ArgumentParser(description="Serve the bare Quart hello app on crosslink's uvicorn set-up")
    parser.add_argument("app", choices=["hello"])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    from kernel.server import run
    from kernel.settings import Settings

    return run(hello, Settings(repo_root=Path.cwd(), port=args.port), ["hello"], log_level="warning")


if __name__ == "__main__":
    sys.exit(main())

"""``bench.crosslink_app:app``: the crosslink application for the repository in ``$BENCH_REPO``
(built-in plugins only), for serving it with granian or hypercorn in the server comparison."""

import os

from kernel.app import create_app
from kernel.settings import Settings

app = create_app(Settings.for_repo(os.environ["BENCH_REPO"], autoload=False))

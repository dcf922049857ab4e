"""The environment the suite's processes share, set when this module is first imported.

Spool reads its settings from the environment once, at import, so the root conftest imports
this module before anything imports `jobs` or `webapp`; every worker, web server and clock a
test starts inherits it.

    from tests.environment import ROOT, VAR   # the project root; a scratch directory for this run
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(tempfile.mkdtemp(prefix="spool-test-"))
REDIS_PORT = free_port()
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"

os.environ.update(
    REDIS_URL=REDIS_URL,
    SPOOL_JOB_MODULES="tests.job_fixtures",
    SPOOL_VAR=str(VAR),
    SPOOL_ALLOW_PRIVATE_URLS="1",
    SECRET_KEY="test-secret",
    # Workers serve the default queue unless a test names others; only "ml" loads the model.
    QUEUES="default",
    # The model is exported from the weights a package ships: a test that reached a model hub fails.
    HF_HUB_OFFLINE="1",
    TRANSFORMERS_OFFLINE="1",
    # Kept between runs (the export takes a while), keyed by its format inside.
    MODEL_CACHE_DIR=str(ROOT / "var" / "models"),
)

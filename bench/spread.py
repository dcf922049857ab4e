"""Spread: semantic_search over a large upload encoded in parts on two "ml" workers, each held
to one core as if on a machine of its own, against one worker using both cores unfanned.

On one 2-core machine two workers share its cores, so the figure is not what two machines
give: it is how close parts on one core each come to one worker's two threads (ONNX Runtime's
own scaling), less the fan-out's cost (the order taken once, the upload read again in each
part, vectors stored and read back, a second run of the job). That cost, in seconds, is also
shown, from the parts' own run times against the job's: what `TEXT_FAN_OUT_OVER` weighs.
"""

from __future__ import annotations

import os

from rq.job import Job
from rq.serializers import JSONSerializer

from bench.harness import PYTHON, Stack, run_to_end
from bench.inference import QUERY, documents
from bench.report import Figure, median
from jobs.builtin.texts import embeddings, onnx_encoder, spread
from jobs.core import files, parts
from jobs.core.keys import Meta


def _search(stack: Stack, texts: list[str]) -> tuple[float, Job]:
    """Seconds from enqueueing one semantic_search to its result, and the job."""
    ref = files.save_upload(stack.redis, "docs.txt", "text/plain", "\n".join(texts).encode(), 3600)
    kwargs = {"file": ref, "query": QUERY, "top_k": 10, "text_column": ""}
    return run_to_end(stack, embeddings.QUEUE, "semantic_search", kwargs, 900, "semantic_search")


def _worker(stack: Stack, cpus: set[int], over: int):
    before = stack.redis.scard("rq:workers")
    proc = stack.spawn([PYTHON, "worker.py", embeddings.QUEUE], name="worker", TEXT_FAN_OUT_OVER=over)
    os.sched_setaffinity(proc.pid, cpus)  # before the model loads: its session sizes itself to these
    stack.wait_registered(proc, before)
    return proc


def _part_seconds(stack: Stack, job: Job) -> float:
    job.refresh()
    plan = Meta.of(job).fan_out
    if not plan:
        raise RuntimeError("the search was not spread over the workers")
    count = plan["parts"]
    found = Job.fetch_many(parts.part_ids(job.id, count), connection=stack.redis, serializer=JSONSerializer)
    return sum((p.ended_at - p.started_at).total_seconds() for p in found)


def run(quick: bool) -> list[Figure]:
    reason = embeddings.missing()
    if reason:
        return [Figure("spread", float("nan"), "s", note=f"not measured: {reason}")]
    reps, n, over = (1, 4096, 2048) if quick else (3, 16384, 2048)
    onnx_encoder.ensure_export()
    texts = documents(n)
    cores = sorted(os.sched_getaffinity(0))[:2]
    with Stack() as stack:
        one = _worker(stack, set(cores), over)
        alone = median(_search(stack, texts)[0] for _ in range(reps))
        stack.stop(one)
        stack.redis.delete("rq:workers:" + embeddings.QUEUE)  # the stopped worker's entry, if it left one
        for cpu in cores:
            _worker(stack, {cpu}, over)
        runs = [_search(stack, texts) for _ in range(reps)]
        # Two cores ran the parts: what the job took beyond half their run times is the fan-out's cost.
        cost = median(took - _part_seconds(stack, job) / len(cores) for took, job in runs)
    took = median(t for t, _ in runs)
    note = f"{n:,} lines, parts of {spread.part_size(over, n, 2):,}; cores {cores}"
    return [
        Figure("spread: semantic_search, one worker on 2 cores", alone, "s", note=note),
        Figure(
            "spread: in parts on 2 workers of 1 core each",
            took,
            "s",
            baseline=alone,
            baseline_label="one worker, unfanned",
            target="≤ 1.1× the unfanned time",
            ok=took <= 1.1 * alone,
        ),
        Figure("spread: the fan-out's own cost (job time less the parts' time over 2 cores)", cost, "s"),
    ]

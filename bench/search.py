"""Search with 100,000 jobs kept: a filtered search's p99 against an unfiltered page.

The jobs are written straight into the bench's own Redis in pipelines (an RQ job hash each,
indexed by jobs.core.index as a submit and its status changes index them), spread over 50
owners, 5 types and the statuses in realistic shares, with a few words of parameters each from
a vocabulary of 2,000 and an uploaded file name on one in ten. A search is what
`repository.find` does: the index query (jobs.core.search) and the page's jobs fetched. The
baseline is the operators' unfiltered first page, the same two steps with no intersection.
"""

from __future__ import annotations

import random
import time
import zlib

from rq.job import Job
from rq.serializers import JSONSerializer

import bench.jobs  # noqa: F401  (its job types)
from bench.harness import Stack
from bench.report import Figure, percentile
from jobs.core import index, keys, search
from jobs.core.job import SpoolJob
from jobs.core.keys import Meta

OWNERS, TYPES, VOCABULARY = 50, 5, 2000
STATUSES = (["finished"] * 70) + (["failed"] * 15) + (["canceled"] * 5) + (["queued"] * 8) + (["started"] * 2)
PAGE = 20
TARGET_MS = 100.0


def _word(i: int) -> str:
    return f"w{i:04d}x"


def _fill(client, count: int, rng: random.Random) -> tuple[float, float]:
    """Write `count` indexed jobs; return the first and last submit times."""
    start = time.time() - count  # one a second, so that time windows select a share
    batch = 1000
    template = Job.create("bench.jobs.noop", connection=client, serializer=JSONSerializer).to_dict()
    for first in range(0, count, batch):
        with client.pipeline(transaction=False) as pipe:
            for n in range(first, min(first + batch, count)):
                owner, type_name = f"user:u{rng.randrange(OWNERS)}", f"type{rng.randrange(TYPES)}"
                words = " ".join(_word(rng.randrange(VOCABULARY)) for _ in range(4))
                job_id, kwargs = f"job{n:06d}", {"text": words, "limit": rng.randrange(10**6)}
                meta = Meta(type=type_name, owner=owner).as_dict()
                data = zlib.compress(JSONSerializer.dumps(("bench.jobs.noop", None, [], kwargs)))
                fields = {"data": data, "meta": JSONSerializer.dumps(meta), "status": rng.choice(STATUSES)}
                pipe.hset(keys.job_key(job_id), mapping={**template, **fields})
                uploads = {}
                if n % 10 == 0:
                    uploads = {"data": f"up{n}"}
                    pipe.hset(keys.upload_key(f"up{n}"), "name", f"report-{n % 97}.csv")
                score = start + n
                pipe.zadd(keys.owner_key(owner), {job_id: score})
                index.add(pipe, job_id, owner, type_name, kwargs, uploads, score)
            pipe.execute()
    return start, start + count


def _queries(rng: random.Random, start: float, end: float) -> list[search.Filters]:
    window = (end - start) / 10
    at = rng.uniform(start, end - window)
    w = _word(rng.randrange(VOCABULARY))
    owner, type_name = f"user:u{rng.randrange(OWNERS)}", f"type{rng.randrange(TYPES)}"
    return [
        search.Filters(status="failed"),
        search.Filters(status="finished", type=type_name),
        search.Filters(owner=owner, status="finished"),
        search.Filters(q=w),
        search.Filters(q=f"{w} {_word(rng.randrange(VOCABULARY))}"),
        search.Filters(status="finished", type=type_name, since=at, until=at + window),
        search.Filters(owner=owner, q="report csv"),
        search.Filters(type=type_name, q=w, since=at),
    ]


def _timed(client, filters: search.Filters, page: int, kinds: dict | None = None) -> float:
    started = time.perf_counter()
    found = search.find(client, filters, offset=page * PAGE, count=PAGE)
    SpoolJob.fetch_many(found.ids, connection=client, serializer=JSONSerializer)
    return (time.perf_counter() - started) * 1000


def run(quick: bool) -> list[Figure]:
    count, rounds = (100_000, 40) if quick else (100_000, 200)
    rng = random.Random(7)
    with Stack() as stack:
        client = stack.redis
        filled = time.perf_counter()
        start, end = _fill(client, count, rng)
        fill_s = time.perf_counter() - filled
        memory_mb = client.info("memory")["used_memory"] / 1e6
        filtered, unfiltered = [], []
        for _ in range(rounds):
            page = rng.randrange(3)
            unfiltered.append(_timed(client, search.Filters(), page))
            filtered.extend(_timed(client, f, page) for f in _queries(rng, start, end))
    p99, base = percentile(filtered, 99), percentile(unfiltered, 99)
    return [
        Figure(
            f"filtered search p99, {count:,} jobs kept",
            p99,
            "ms",
            base,
            "unfiltered page p99",
            target=f"≤ {TARGET_MS:g} ms",
            ok=p99 <= TARGET_MS,
            note=f"{len(filtered)} searches of 8 kinds; Redis {memory_mb:,.0f} MB; filled in {fill_s:.0f} s",
        ),
        Figure("filtered search median", percentile(filtered, 50), "ms", percentile(unfiltered, 50), "unfiltered"),
    ]

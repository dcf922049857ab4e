"""Fan-out: one job spread over many workers as RQ jobs, still one job to its owner.

    @job(title="Check a chunk", internal=True, retry=Backoff(2, first=1))
    def check_chunk(urls: list[str], timeout_s: float = 10.0) -> list:
        ...

    @job(title="Check links")
    def check_links(urls: list[str]) -> dict:
        return fan_out(check_chunk, chunks(urls, 100), merge=merge_chunks, kwargs={"timeout_s": 5})

How it runs, all on RQ's dependency machinery:

1. In the job's first run, `fan_out` enqueues one RQ job per item (ids `<job id>-part-<n>`,
   each a job of the part's own type, with its queue, timeout and retry policy, owned by the
   job's owner so owners' turns apply), makes the job depend on every part (allowing them to
   fail) and sets it "deferred", all in one transaction, then leaves the job's function. The
   worker treats that as a wait, not an end (jobs.core.worker), and takes other work: the job
   holds no worker while its parts run.
2. Parts' `progress()` roll up into the job's bar; their `log()` and `emit()` go to the job.
3. When the last part ends, RQ enqueues the job again (its WATCHed transaction makes exactly
   one worker do it, however many parts end at once; a worker killed before it recorded a
   part's end runs that part again). The job's function runs again from the top, and this time
   `fan_out` returns `merge(results)` in the items' order: the merge is the job's last run.
4. A part that fails for good fails the job, naming the part and why, and the other parts are
   canceled; with `partial=True` the merge runs on what succeeded (None for each missing part)
   and a dict result gets `missing`: [{part, error}].
5. Canceling or stopping the job cancels its waiting parts and stops its running ones, and no
   merge runs (RQ never enqueues a canceled job).

A job that fans out only sometimes (when its input is large and `workers_serving(queue) > 1`)
asks `fanned_out()` first: what decided its first run may have changed by its second. Parts
may attach what is too big for a result (`attach`), for the merge to read (`part_files`).

The job's function should be cheap up to its `fan_out` call: it runs twice. Parts are not in
their owner's list, nor counted by MAX_WAITING_PER_OWNER or MAX_RUNNING_PER_OWNER (the job is
counted once); a part type's own `concurrency` limit applies to its parts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from redis.exceptions import WatchError
from rq import get_current_job
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation
from rq.job import Job
from rq.registry import DeferredJobRegistry
from rq.serializers import JSONSerializer

from jobs.core import catalogue, events, files, index, keys, parts, reporter, status
from jobs.core.exceptions import NotInCatalogue, PartFailed, WaitingForParts
from jobs.core.job import SpoolJob
from jobs.core.keys import Meta
from jobs.core.queue import live_workers, queue

MAX_PARTS = 1000


def fan_out(
    part: Callable,
    items: Iterable,
    *,
    merge: Callable[[list], object] | None = None,
    partial: bool = False,
    kwargs: dict | None = None,
):
    """Run `part(item, **kwargs)` for each item as its own RQ job, on any worker, and return
    `merge(results)` (the list of results itself without `merge`), results in the items' order.

    `part` is a job type (`@job(..., internal=True)`), whose queue, timeout and retry policy
    its parts get; items and kwargs are JSON-simple. A job fans out once, as its last act;
    in the run that merges, `items` is not read. Outside a worker, the parts run here, one
    after another.
    """
    kwargs = kwargs or {}
    job = get_current_job()
    if job is None:
        results = [part(item, **kwargs) for item in items]
        return merge(results) if merge else results
    plan = Meta.of(job).fan_out
    if plan is None:
        # What the job reported so far is written before any part can report into it.
        reporter.finish()
        _spread(job, part, list(items), kwargs, partial)
        raise WaitingForParts(job.id)
    return _gather(job, plan, merge)


def fanned_out() -> bool:
    """Whether the current job has fanned out already, so that this run of it is the merge."""
    job = get_current_job()
    return job is not None and Meta.of(job).fan_out is not None


def workers_serving(queue_name: str) -> int:
    """How many live workers listen on a queue now (none outside a worker: a plain call has no
    workers to share its work with)."""
    job = get_current_job()
    return 0 if job is None else live_workers(queue_name, job.connection)


def _spread(job: Job, part: Callable, items: list, kwargs: dict, partial: bool) -> None:
    """Enqueue the parts and make the job wait for them, in one transaction."""
    part_type = catalogue.by_func_name(f"{part.__module__}.{part.__qualname__}")
    if part_type is None:
        raise NotInCatalogue(f"{part.__qualname__} is not a job type; give a part @job(..., internal=True)")
    if not 0 < len(items) <= MAX_PARTS:
        raise ValueError(f"fan_out takes 1 to {MAX_PARTS} items, not {len(items)}")
    meta = Meta.of(job)
    count = len(items)
    ids = parts.part_ids(job.id, count)
    job.meta["fan_out"] = {"parts": count, "partial": partial}
    job.meta[keys.WAITING_FOR] = f"its {count} parts to run on the workers"
    ttl = job.result_ttl
    target = queue(part_type.queue, job.connection)
    with job.connection.pipeline() as pipe:
        pipe.multi()  # RQ's enqueue_call expects a pipeline it is given to be in a transaction
        _wait_on(job, ids, pipe)
        submitted = time.time()
        for n, item in enumerate(items):
            target.enqueue_call(
                part_type.func,
                args=(item,),
                kwargs=kwargs,
                job_id=ids[n],
                timeout=part_type.timeout,
                retry=part_type.retry,
                result_ttl=ttl,
                failure_ttl=ttl,
                description=f"part {n + 1} of {count} of job {job.id}",
                meta=Meta(
                    type=part_type.name, owner=meta.owner, request_id=meta.request_id, parent=job.id, part=n
                ).as_dict(),
                pipeline=pipe,
            )
            # Found by operators' searches (listed as part of their job), never in the owner's list.
            index.add(pipe, ids[n], None, part_type.name, {"item": item, **kwargs}, {}, submitted)
        pipe.execute()
    events.publish_status(job.connection, job.id, status.DEFERRED)


def _wait_on(job: Job, ids: list[str], pipe) -> None:
    """Make the job deferred on `ids` (RQ's dependencies, failures allowed), in `pipe`."""
    job._dependency_ids = ids
    job.allow_dependency_failures = True
    job.set_status(status.DEFERRED, pipeline=pipe)
    job.save(pipeline=pipe)
    job.register_dependency(pipeline=pipe)


def _gather(job: Job, plan: dict, merge: Callable | None):
    """The job's run after its parts: merge their results, or fail naming the part that did."""
    count, partial = plan["parts"], plan.get("partial", False)
    ids = parts.part_ids(job.id, count)
    found = SpoolJob.fetch_many(ids, connection=job.connection, serializer=JSONSerializer)
    states = [status.of(p) if p is not None else None for p in found]
    missing = [
        (i, p)
        for i, (p, s) in enumerate(zip(found, states, strict=True))
        if s in status.TERMINAL - {status.FINISHED} or p is None
    ]
    if missing and not partial:
        cancel_parts(job.connection, job)
        job.retries_left = 0  # retrying the job would only meet the same failed part
        index, failed = missing[0]
        raise PartFailed(f"part {index + 1} of {count} failed: {reason(failed)}")
    if any(s in status.ACTIVE for s in states):  # run early (a retry after its worker died): wait again
        _wait_again(job, [i for i, s in zip(ids, states, strict=True) if s in status.ACTIVE])
        raise WaitingForParts(job.id)
    job.meta.pop(keys.WAITING_FOR, None)
    results = [p.return_value() if s == status.FINISHED else None for p, s in zip(found, states, strict=True)]
    reporter.progress(count, count, f"{count - len(missing)} of {count} parts done; merged")
    merged = merge(results) if merge else results
    if missing and isinstance(merged, dict):
        merged["missing"] = [{"part": i + 1, "error": reason(p)} for i, p in missing]
    return merged


def _wait_again(job: Job, active: list[str]) -> None:
    with job.connection.pipeline() as pipe:
        while True:
            try:
                pipe.watch(*(keys.job_key(i) for i in active))
                if not any(s in status.ACTIVE for s in keys.statuses(job.connection, active)):
                    pipe.reset()
                    return
                pipe.multi()
                _wait_on(job, active, pipe)
                pipe.execute()
                return
            except WatchError:
                continue


def reason(part: Job | None) -> str:
    """Why a part did not finish, in one line."""
    if part is None:
        return "it expired before the merge"
    state = status.of(part, refresh=False)
    if state != status.FAILED:
        return f"it was {state}"
    latest = part.latest_result()
    lines = (latest.exc_string or "").strip().splitlines() if latest else []
    return lines[-1] if lines else "its worker stopped"


def cancel_parts(connection, parent: Job) -> None:
    """Cancel a job's waiting parts and stop its running ones."""
    plan = Meta.of(parent).fan_out
    if not plan:
        return
    for part in SpoolJob.fetch_many(
        parts.part_ids(parent.id, plan["parts"]), connection=connection, serializer=JSONSerializer
    ):
        if part is None:
            continue
        state = status.of(part)
        if state in status.WAITING:
            try:
                part.cancel()
            except InvalidJobOperation:
                continue
            events.publish_status(connection, part.id, status.CANCELED)
        elif state == status.STARTED:
            connection.set(keys.stop_key(part.id), 1, ex=parent.result_ttl or 7 * 24 * 3600)
            try:
                send_stop_job_command(connection, part.id, serializer=JSONSerializer)
            except InvalidJobOperation:  # between workers: the stop key ends it when it is handled
                pass
    files.drop_part_files(connection, parent)  # no merge will read them
    parts.publish_counts(connection, parent.id)


def ended(connection, job: Job, now_status: str) -> None:
    """React to a job ending badly: a parent's parts are stopped; a part that failed for good
    wakes its parent at once (unless it merges what it can), whose run then fails naming it."""
    if Meta.of(job).fan_out:
        cancel_parts(connection, job)
        return
    parent_id = Meta.of(job).parent
    if parent_id is None:
        return
    parent = SpoolJob.fetch_many([parent_id], connection=connection, serializer=JSONSerializer)[0]
    if parent is None:
        return
    plan = Meta.of(parent).fan_out or {}
    if now_status == status.FAILED and plan.get("partial"):
        return  # RQ enqueues the parent when the last part has ended
    if now_status == status.FAILED:
        _wake(connection, parent)
    cancel_parts(connection, parent)


def _wake(connection, parent: Job) -> bool:
    """Enqueue a deferred parent now, taking it off its parts' dependents first, so that RQ,
    when a later part ends, does not enqueue it a second time (its transactions WATCH those sets)."""
    dependents = [Job.dependents_key_for(i) for i in parts.part_ids(parent.id, Meta.of(parent).fan_out["parts"])]
    target = queue(parent.origin, connection)
    with connection.pipeline() as pipe:
        while True:
            try:
                pipe.watch(parent.key, *dependents)
                if status.of(parent) != status.DEFERRED:
                    pipe.reset()
                    return False
                pipe.multi()
                for key in dependents:
                    pipe.srem(key, parent.id)
                DeferredJobRegistry(parent.origin, connection=connection).remove(parent.id, pipeline=pipe)
                target._enqueue_job(parent, pipeline=pipe)
                pipe.execute()
                break
            except WatchError:
                continue
    events.publish_status(connection, parent.id, status.QUEUED)
    return True

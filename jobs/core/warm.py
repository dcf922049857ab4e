"""A forking worker whose work horse is forked before its job arrives.

    class SpoolWorker(WarmWorker): ...

RQ's `Worker` forks a work horse once it holds a job, so every job waits for a fork, and the
fork of a worker holding a model costs milliseconds more. Here the next horse is forked
ahead, while the worker waits for a job or while the previous job runs. A horse sets itself up
as RQ's horse does, connects to Redis, and blocks on a pipe. Once the worker has a job, it writes
the job's id down the pipe and monitors that horse exactly as RQ monitors the one it forks.

Everything else stays RQ's: one job per horse (it exits after its job); the death penalty
inside the horse; the worker's and the job's heartbeats; stop and kill-horse commands, which
kill `horse_pid`'s process group; and RQ's handling of a horse that died mid-job ("Work-horse
terminated unexpectedly"). A horse waiting for a job is nobody's `horse_pid` and leads no
process group of its own, so a stop, a kill-horse command or a timeout never reaches it; it
dies with the worker (see `setup_work_horse_signals`) and is ended when the worker ends.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time

from redis.exceptions import RedisError
from rq import Worker
from rq.executions import Execution

PR_SET_NAME = 15
# How `ps`, `top` and /proc/<pid>/comm name a horse: waiting, then running its job.
IDLE_NAME, BUSY_NAME = b"idle horse", b"work horse"


_prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)  # Linux only


def _name_process(name: bytes) -> None:
    """Name this process for the system's tools (where the system has prctl)."""
    if _prctl is not None:
        _prctl(PR_SET_NAME, ctypes.c_char_p(name))


class IdleHorse:
    """The worker's end of a forked horse that waits for its job."""

    def __init__(self, pid: int, pipe: int):
        self.pid, self.pipe = pid, pipe

    def hand(self, *words: str) -> bool:
        """Give the horse its job (one line, shorter than a pipe's atomic write); False if it died."""
        try:
            # Its own process group before anyone can know its pid: RQ kills a horse's group.
            os.setpgid(self.pid, self.pid)
            os.write(self.pipe, (" ".join(words) + "\n").encode())
            handed = True
        except OSError:  # it died while it waited (ESRCH, EPIPE, or a zombie's EACCES)
            handed = False
        os.close(self.pipe)
        if not handed:
            self._reap()
        return handed

    def end(self) -> None:
        """End a horse that will get no job."""
        os.close(self.pipe)
        self._reap()

    def _reap(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


class WarmWorker(Worker):
    """RQ's forking worker, forking each horse before its job.

    Of RQ's fork, only its two ends are overridden: `fork_work_horse` (the worker's side: hand
    the job to the waiting horse, then fork the next one) and what the child runs before RQ's
    `main_work_horse` (wait for the job, then fetch it). `execute_job`, `monitor_work_horse`,
    `kill_horse` and `wait_for_horse` are RQ's own, so they treat the horse as theirs.
    """

    _idle: IdleHorse | None = None

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        if self._idle is None:  # the first job's horse, or one whose fork failed
            self._idle = self._fork_idle(fatal=False)
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def fork_work_horse(self, job, queue):
        os.environ["RQ_WORKER_ID"] = self.name
        os.environ["RQ_JOB_ID"] = job.id
        words = (job.id, self.execution.id, queue.name)
        horse, self._idle = self._idle, None
        if horse is None or not horse.hand(*words):
            horse = self._fork_idle(fatal=True)
            if not horse.hand(*words):
                raise OSError(f"the work horse {horse.pid} died before it was given job {job.id}")
        self._horse_pid = horse.pid
        self.procline(f"Handed job {job.id} to horse {horse.pid} at {time.time()}")
        self.while_starting(job, queue)
        # The next job's horse, forked now so that the fork overlaps this job's run. (Forking
        # once the job's body began instead left the start no faster and cost throughput on a
        # busy machine: the worker, woken for it, waited for a core before it could fork.)
        self._idle = self._fork_idle(fatal=False)

    def while_starting(self, job, queue) -> None:
        """What else the worker does for a job while its horse starts it (off the job's way)."""

    def teardown(self):
        # First: RQ's teardown needs Redis, and may raise without it.
        if self._idle is not None:
            self._idle.end()
            self._idle = None
        super().teardown()

    def _fork_idle(self, fatal: bool) -> IdleHorse | None:
        try:
            job_end, worker_end = os.pipe()
            pid = os.fork()
        except OSError:
            if fatal:
                raise
            self.log.exception("Worker %s: could not fork a work horse ahead of its job", self.name)
            return None
        if pid == 0:
            os.close(worker_end)
            self._wait_for_job(job_end)
        os.close(job_end)
        return IdleHorse(pid, worker_end)

    def _wait_for_job(self, pipe: int) -> None:
        """In the forked horse: wait for a job id, fetch the job, run it as RQ's horse does."""
        try:
            self._horse_pid = 0
            self._stopped_job_id = None
            self.setup_work_horse_signals()  # before waiting: so it dies with the worker
            _name_process(IDLE_NAME)
            # Drop the worker's Redis sockets (closed in this process only): the horse opens its own,
            # now, so that its job's first read is one round trip and not a connection's three.
            pool = self.connection.connection_pool
            pool.reset()
            try:
                pool.release(pool.get_connection())
            except RedisError:  # the job's first read connects instead, or fails as it would have
                pass
            line = b""
            while not line.endswith(b"\n"):
                chunk = os.read(pipe, 512)
                if not chunk:  # the worker ended without a job for it
                    os._exit(0)
                line += chunk
            os.close(pipe)
            _name_process(BUSY_NAME)
            job_id, execution_id, queue_name = line.decode().split()
            os.environ["RQ_JOB_ID"] = job_id
            job = self.job_class.fetch(job_id, connection=self.connection, serializer=self.serializer)
            queue = next(q for q in self.queues if q.name == queue_name)
            self.execution = Execution(execution_id, job_id, connection=self.connection, worker_name=self.name)
        except BaseException:
            self.log.exception("Work horse %s: could not take its job", os.getpid())
            os._exit(1)
        self.main_work_horse(job, queue)
        os._exit(0)

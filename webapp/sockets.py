"""What one client may hold open: the cluster's count of sockets per owner and per address.

    ledger = sockets.Ledger(connection, per_owner=20, per_address=100)   # one per web process
    if not ledger.admit(owner, address): ...   # counted, cluster-wide, or refused (the cap reached)
    ledger.release(owner, address)             # when the socket ends
    ledger.heartbeat(delivered=40)             # every second, from the hub's thread
    ledger.open_sockets()                      # the cluster's, for /metrics

The caps are cluster-wide, not per web process: a client spread over several processes by the
load balancer still gets only its share. Each process keeps its counts in a hash of its own in
Redis (keys.web_process_key), rewritten from memory on every heartbeat with a short TTL, and
`admit` sums the hashes of the live processes and counts the new socket in one script, so two
processes cannot both let the cap's next socket in. A process that dies stops refreshing its
hash, which expires within TTL seconds: its sockets, gone with it, stop counting by themselves.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter

from redis import Redis
from redis.exceptions import RedisError

from jobs.core import keys, measures

# How long a process's counts outlive its last heartbeat.
TTL = 10
# How long the end of a socket waits to be written with the ends of others.
RELEASE_DELAY = 0.05
OPEN = "open"

# KEYS: the processes' set, this process's hash, the other live processes' hashes.
# ARGV: this process, now, the owner's field, the address's field, their caps, TTL.
_ADMIT = """
local owners, addresses = 0, 0
for i = 2, #KEYS do
  owners = owners + tonumber(redis.call('HGET', KEYS[i], ARGV[3]) or '0')
  addresses = addresses + tonumber(redis.call('HGET', KEYS[i], ARGV[4]) or '0')
end
if owners >= tonumber(ARGV[5]) then return 'owner' end
if addresses >= tonumber(ARGV[6]) then return 'address' end
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
redis.call('HINCRBY', KEYS[2], 'open', 1)
redis.call('EXPIRE', KEYS[2], ARGV[7])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 'ok'
"""


class Ledger:
    def __init__(self, connection: Redis, per_owner: int, per_address: int):
        self.connection = connection
        self.per_owner, self.per_address = per_owner, per_address
        self.process_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.key = keys.web_process_key(self.process_id)
        self._counts: Counter[str] = Counter()
        self._released: Counter[str] = Counter()  # not yet written to Redis
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None  # the write of releases that is due
        self._admit = connection.register_script(_ADMIT)

    def live_processes(self) -> list[str]:
        """The web processes whose heartbeat has not lapsed (this one included once it beat)."""
        raw = self.connection.zrangebyscore(keys.WEB_PROCESSES, time.time() - TTL, "+inf")
        return [p.decode() for p in raw]

    def admit(self, owner: str, address: str) -> str | None:
        """Count a new socket; None if admitted, else which cap it reached ("owner" or "address")."""
        owner_field, address_field = keys.socket_field("owner", owner), keys.socket_field("address", address)
        others = [keys.web_process_key(p) for p in self.live_processes() if p != self.process_id]
        verdict = self._admit(
            keys=[keys.WEB_PROCESSES, self.key, *others],
            args=[self.process_id, time.time(), owner_field, address_field, self.per_owner, self.per_address, TTL],
        ).decode()
        if verdict != "ok":
            return verdict
        with self._lock:
            self._counts.update((owner_field, address_field, OPEN))
        return None

    def release(self, owner: str, address: str) -> None:
        fields = (keys.socket_field("owner", owner), keys.socket_field("address", address), OPEN)
        with self._lock:
            self._counts.subtract(fields)
            self._released.update(fields)
            if self._writer is not None:  # a write is due: it takes this socket too
                return
            self._writer = threading.Thread(target=self._write_releases, name="spool-releases", daemon=True)
        self._writer.start()

    def _write_releases(self) -> None:
        """Take the sockets that ended off this process's counts in Redis, in one write for all
        that end together: a job's end closes all its sockets, and a write each cost more web
        CPU than their events (a millisecond each)."""
        time.sleep(RELEASE_DELAY)
        while True:
            with self._lock:
                released, self._released = self._released, Counter()
                if not released:
                    self._writer = None
                    return
            try:
                with self.connection.pipeline(transaction=False) as pipe:
                    for name, n in released.items():
                        pipe.hincrby(self.key, name, -n)
                    pipe.expire(self.key, TTL)
                    pipe.execute()
            except RedisError:  # Redis is away: the next heartbeat writes the counts afresh
                pass

    def open_sockets(self) -> int:
        """The sockets open on every live web process."""
        with self.connection.pipeline(transaction=False) as pipe:
            for process_id in self.live_processes():
                pipe.hget(keys.web_process_key(process_id), OPEN)
            return sum(int(n or 0) for n in pipe.execute())

    def heartbeat(self, delivered: int = 0) -> None:
        """Rewrite this process's counts from memory, and renew its lease on them; add the
        events it delivered since the last heartbeat to the cluster's total."""
        with self._lock:
            counts = {name: n for name, n in self._counts.items() if n > 0}
        now = time.time()
        with self.connection.pipeline() as pipe:
            pipe.delete(self.key)
            pipe.hset(self.key, mapping={OPEN: 0, **counts})
            pipe.expire(self.key, TTL)
            pipe.zadd(keys.WEB_PROCESSES, {self.process_id: now})
            pipe.zremrangebyscore(keys.WEB_PROCESSES, "-inf", now - 6 * TTL)
            measures.add(pipe, "events_delivered", delivered)
            pipe.execute()

"""Slowing down guesses at the operator password, per client and per door.

    guesses.check(password, "sign-in")   # "admin", "observer", None, or 429 with Retry-After

An address (the client's, believed from trusted proxies only: see webapp.proxies) may miss
TRIES times; after that each further try must wait a delay that doubles with every miss, up to
MAX_DELAY. A try within the delay is answered 429 without looking at the password, and does not
lengthen it; once the delay has passed, the right password signs in as always. So guessing is
slowed to one try per MAX_DELAY at worst, while the operator, from another address or after the
delay, is never locked out. The sign-in page and /metrics' Basic auth count their misses apart,
so a scraper with a stale password cannot shut operators out of the page, nor the reverse.
"""

from __future__ import annotations

import hmac
import math
import time

from flask import current_app
from werkzeug.exceptions import TooManyRequests

from jobs.core import keys
from webapp import proxies, resources

TRIES = 10
FIRST_DELAY = 1
MAX_DELAY = 300
# An address's misses are forgotten this long after its last one.
FORGET_AFTER = 3600

# Atomically: refuse while the address waits, else count this try as a miss in advance (a right
# password clears the record) and start the next delay, so parallel tries after a delay get one
# password check between them, not one each.
_CLAIM = """
local now = tonumber(ARGV[1])
local blocked = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if blocked > now then return tostring(blocked - now) end
local misses = redis.call('HINCRBY', KEYS[1], 'misses', 1)
local tries = tonumber(ARGV[2])
if misses >= tries then
  local delay = math.min(tonumber(ARGV[3]) * 2 ^ (misses - tries), tonumber(ARGV[4]))
  redis.call('HSET', KEYS[1], 'until', tostring(now + delay))
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return '0'
"""


def check(given: str, door: str) -> str | None:
    """The role whose password (OPERATOR_PASSWORD, OBSERVER_PASSWORD) this is, compared in
    constant time, or None; a role without a password cannot be signed in to.

    Raises:
        TooManyRequests: the client must wait before its next try (Retry-After says how long).
    """
    connection = resources.redis()
    record = keys.operator_failures_key(door, proxies.client_address())
    wait = float(
        connection.register_script(_CLAIM)(
            keys=[record], args=[time.time(), TRIES, FIRST_DELAY, MAX_DELAY, FORGET_AFTER]
        )
    )
    if wait > 0:
        raise TooManyRequests(
            "Too many wrong operator passwords from this address; try again in a little while.",
            retry_after=max(1, math.ceil(wait)),
        )
    for role, setting in (("admin", "OPERATOR_PASSWORD"), ("observer", "OBSERVER_PASSWORD")):
        expected = current_app.config[setting]
        if expected and hmac.compare_digest(given.encode(), expected.encode()):
            connection.delete(record)
            return role
    return None

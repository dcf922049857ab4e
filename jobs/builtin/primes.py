"""Counting primes: a CPU-bound job that can run from a second to many minutes."""

from __future__ import annotations

from math import isqrt
from typing import Annotated

from pydantic import Field

from jobs import job, log, progress

SEGMENT = 1 << 20  # odd numbers per segment: about 2M integers, 1 MB of memory


def _small_primes(limit: int) -> list[int]:
    sieve = bytearray([1]) * (limit + 1)
    sieve[:2] = b"\x00\x00"
    for p in range(2, isqrt(limit) + 1):
        if sieve[p]:
            sieve[p * p :: p] = bytes(len(range(p * p, limit + 1, p)))
    return [i for i, is_prime in enumerate(sieve) if is_prime]


@job(title="Count primes", name="primes", timeout="6h")
def count_primes(
    limit: Annotated[
        int,
        Field(ge=2, le=10**10, title="Count below", description="Count the primes below this number (2 to 10^10)."),
    ] = 3_000_000_000,
) -> dict:
    """Count the primes below a limit, sieving in segments so memory stays small."""
    base = _small_primes(isqrt(limit))[1:]  # odd base primes
    # Index i of a segment stands for the odd number lo + 2*i.
    count = 1 if limit > 2 else 0
    largest = 2 if limit > 2 else None
    lo = 3
    segments = max(1, -(-(limit - 3) // (2 * SEGMENT)))
    for index in range(segments):
        hi = min(lo + 2 * SEGMENT, limit)  # odd numbers in [lo, hi)
        size = (hi - lo + 1) // 2
        if size <= 0:
            break
        seg = bytearray([1]) * size
        for p in base:
            if p * p >= hi:
                break
            start = max(p * p, (lo + p - 1) // p * p)
            if start % 2 == 0:
                start += p
            first = (start - lo) // 2
            if first < size:
                seg[first::p] = bytes(len(range(first, size, p)))
        found = seg.count(1)
        if found:
            count += found
            largest = lo + 2 * seg.rindex(1)
        lo = hi if hi % 2 else hi + 1
        progress(index + 1, segments, f"sieved up to {min(hi, limit):,}")
        # A line every tenth of the way, so a long count's log shows it moving.
        if segments >= 10 and (index + 1) % (segments // 10) == 0 and index + 1 < segments:
            log(f"{count:,} primes below {min(hi, limit):,} so far")
    log(f"found {count:,} primes below {limit:,}")
    return {"limit": limit, "count": count, "largest": largest}

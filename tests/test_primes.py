"""Counting primes, the CPU-bound built-in job, through a real worker."""


def test_a_long_count_logs_as_it_goes_and_counts_right(api, worker):
    job_id = api.submit("primes", limit=25_000_000)
    job = api.wait_status(job_id, "finished", "failed", timeout=120)
    assert job["result"] == {"limit": 25_000_000, "count": 1_565_927, "largest": 24_999_983}
    *along_the_way, last = job["log"]
    assert len(along_the_way) >= 9 and all("so far" in line for line in along_the_way)
    assert last == "found 1,565,927 primes below 25,000,000"

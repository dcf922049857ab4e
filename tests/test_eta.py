"""The time left follows the recent pace, not the average since the start."""

from jobs.core.eta import Eta


def run(eta: Eta, start: float, fraction: float, pace: float, seconds: float, step: float = 0.5):
    """Feed `seconds` of updates at `pace` (fraction per second); return the time and fraction reached."""
    t = start
    while t < start + seconds:
        t += step
        fraction += pace * step
        eta.estimate(fraction, 1, t)
    return t, fraction


def test_after_a_change_of_pace_the_estimate_follows_the_new_one_within_seconds():
    eta = Eta(started=0)
    t, f = run(eta, 0, 0, pace=0.005, seconds=30)  # slow start: 15 % in 30 s
    t, f = run(eta, t, f, pace=0.05, seconds=8)  # then ten times as fast
    truth, from_start = (1 - f) / 0.05, (1 - f) * t / f
    left = eta.estimate(f, 1, t)
    assert abs(left - truth) < abs(left - from_start) / 3, (left, truth, from_start)


def test_the_first_estimate_is_the_pace_since_the_start_and_done_is_zero():
    eta = Eta(started=0)
    assert eta.estimate(0, 10, 1) is None
    assert eta.estimate(2, 10, 4) == 16.0
    assert eta.estimate(10, 10, 5) == 0.0


def test_a_new_total_starts_the_estimate_over():
    eta = Eta(started=0)
    run(eta, 0, 0, pace=0.1, seconds=9)
    assert eta.estimate(1, 100, 10) == 99.0  # a new phase: 1 % in the second since the last update

"""When a running job's reports reach Redis: the writer behind progress() and log()."""

from rq import Queue
from rq.serializers import JSONSerializer

from jobs.core import events, keys
from jobs.core.reporter import Reporter
from tests.helpers import wait_for


def _next_event(pubsub, timeout: float) -> dict:
    def received():
        message = pubsub.get_message(timeout=0.1)
        return message if message is not None and message["type"] == "message" else None

    return events.parse_message(wait_for(received, timeout, "the next event")["data"])[1]


def test_the_rest_of_a_burst_the_writer_woke_in_the_middle_of_is_not_an_interval_late(redis):
    # Nothing serves "parked": the job only stands for one whose reporter this is.
    job = Queue("parked", connection=redis, serializer=JSONSerializer).enqueue("tests.job_fixtures.touch", "x")
    pubsub = redis.pubsub()
    pubsub.subscribe(keys.channel(job.id))
    reporter = Reporter(job, interval=600)
    try:
        reporter.log("starting")  # after a quiet spell: written at once, alone
        assert _next_event(pubsub, 30) == {"type": "log", "line": "starting"}
        reporter.pending = (1, 2, "half way")  # what progress() does, a moment after the line
        reporter.poke()
        assert _next_event(pubsub, 30)["message"] == "half way"
    finally:
        reporter.close()
        pubsub.close()

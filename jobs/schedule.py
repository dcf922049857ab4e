"""The periodic schedule, run by the clock process: `rq cron jobs/schedule.py`."""

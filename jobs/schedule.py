"""The periodic schedule, run by the clock process: `rq cron jobs/schedule.py`.

Only catalogued job types may be scheduled; add a deployment's own entries here.
"""

from jobs.core import housekeeping
from jobs.core.cron import every

every(housekeeping.sweep, minutes=10)

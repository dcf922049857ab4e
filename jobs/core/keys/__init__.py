"""Every Redis key Spool writes, the fields it reads from RQ's job hash, and the job-meta schema.

    keys.owner_key(owner)            # the owner's index of job ids (a sorted set)
    keys.statuses(pipe_or_conn, ids) # RQ's status field of many jobs, in one round trip
    Meta.of(job).owner               # the typed view of a job's meta

Web and workers agree on these names; no other module formats a key or reads RQ's job hash
by field name. One import, three rooms: `names` builds the keys, `reads` reads RQ's job hash
and Spool's small records without fetching whole jobs, `meta` is the typed job meta. RQ's own keys (`rq:job:<id>`, `rq:queue:<name>`, its registries) are built by
RQ's classes; the job hash's name is taken from `Job.key_for` rather than spelled here again.
Every key that belongs to one job (its log, files, stop flag, mail markers) is named after the
job id under `spool:`, so housekeeping can find what a vanished job left behind.
"""

from jobs.core.keys.indexes import *  # noqa: F403 (every key name is this package's API)
from jobs.core.keys.meta import WAITING_FOR as WAITING_FOR
from jobs.core.keys.meta import Meta as Meta
from jobs.core.keys.meta import Progress as Progress
from jobs.core.keys.names import *  # noqa: F403
from jobs.core.keys.reads import *  # noqa: F403

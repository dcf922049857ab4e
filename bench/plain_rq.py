"""Plain RQ's command line (`python -m bench.plain_rq worker ...`), with the benchmark's job
module imported before the worker forks, as Spool's worker.py imports its catalogue: the
baselines then measure RQ's worker, not the import of the job's module in every work horse.
"""

import sys

from rq.cli import main

import bench.jobs  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())

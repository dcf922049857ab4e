"""Spool's own job types, one family a module (or a package, for one with helpers).

Each imports only the authors' API (`from jobs import ...`) and libraries, never `jobs.core`:
they are the examples a deployment's own job modules follow.
"""

"""Spool on several hosts: Linux network namespaces on one machine (needs root).

python -m scale [--quick]        # `make scale`: build the hosts, print the figures
pytest -m scale                  # the behaviours, asserted (tests/scale/)

hosts.py        namespaces, a bridge, processes inside a host, cutting a host off
tls.py          a CA of the run's own and the certificates it signs
redis_hosts.py  Redis 7 with TLS and an ACL user, its replica, three Sentinels
cluster.py      the whole topology: Redis, haproxy, two web hosts, worker hosts, clock, client
client.py       HTTP and WebSocket clients that reach Spool only through haproxy
slow.py         the slow web server that link checks are pointed at
figures.py      what `make scale` measures
"""

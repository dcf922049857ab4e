"""Test hosts as Linux network namespaces on one machine: each its own address on one bridge.

    network = Network()                       # a bridge; leftovers of dead runs removed first
    web = network.host("web1")                # a namespace with eth0 at 10.77.0.x and lo up
    process = web.run(["python", "worker.py"], env={...})
    web.cut(); web.mend()                     # its link down, as a machine falling off the net
    with network.host("client").inside(): ... # this thread's sockets now open from that host
    network.close()                           # every process, namespace and link it made

The bridge has no address on this machine: the hosts reach one another and nothing else,
and nothing outside them reaches them. Names carry this process's id, so a run that crashed
leaves names a later run recognises as a dead process's and removes. Needs root.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

SUBNET = "10.77.0"
CLONE_NEWNET = 0x40000000
_NAMESPACE = re.compile(r"^spool-(\d+)-")
_LINK = re.compile(r"^sp(\d+)(?:br|h\d+)$")
_libc = ctypes.CDLL(None, use_errno=True)
# This machine's own network, where the bridge and the hosts' far ends of their links live: `ip`
# runs there even when the calling thread speaks from inside a host (see Host.inside).
_MACHINE = os.open("/proc/self/ns/net", os.O_RDONLY)


def ip(*args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["ip", *args], capture_output=True, text=True, pass_fds=(_MACHINE,), preexec_fn=lambda: _setns(_MACHINE)
    )
    if check and done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def why_not_available() -> str | None:
    """Why namespaces cannot be made here (not root, no `ip`), or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    try:
        ip("netns", "list")
    except (OSError, RuntimeError) as exc:
        return f"`ip netns` does not work here: {exc}"
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _kill_all_in(namespace: str) -> None:
    for pid in ip("netns", "pids", namespace, check=False).split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def remove_leftovers() -> list[str]:
    """Remove the namespaces and links of runs whose process is gone; return their names."""
    removed = []
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.strip() else ""
        if (m := _NAMESPACE.match(name)) and not _alive(int(m.group(1))):
            _kill_all_in(name)
            ip("netns", "del", name, check=False)
            removed.append(name)
    for line in ip("-o", "link", "show").splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if (m := _LINK.match(name)) and not _alive(int(m.group(1))):
            ip("link", "del", name, check=False)
            removed.append(name)
    return removed


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")


class Process:
    """A program run inside a host, in a session of its own, its output in a log file."""

    def __init__(self, host: Host, argv: list[str], name: str, env: dict | None = None, cwd: str | None = None):
        self.host, self.name = host, name
        self.log = Path(tempfile.mkstemp(prefix=f"{host.name}-{name}-", suffix=".log", dir=host.network.var)[1])
        with self.log.open("wb") as out:
            # `ip netns exec` execs the program, so this pid is the program's own.
            self.process = subprocess.Popen(
                ["ip", "netns", "exec", host.namespace, *argv],
                cwd=cwd,
                env={**os.environ, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.pid, sig)
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass


class Host:
    """One network namespace with one interface on the network's bridge."""

    def __init__(self, network: Network, name: str, index: int):
        self.network, self.name = network, name
        self.namespace = f"spool-{os.getpid()}-{name}"
        self.link = f"sp{os.getpid()}h{index}"  # this machine's end of the pair (≤ 15 characters)
        self.address = f"{SUBNET}.{index}"
        self.processes: list[Process] = []
        ip("netns", "add", self.namespace)
        ip("link", "add", self.link, "type", "veth", "peer", "name", "eth0", "netns", self.namespace)
        ip("link", "set", self.link, "master", network.bridge, "up")
        inside = ("netns", "exec", self.namespace, "ip")
        ip(*inside, "addr", "add", f"{self.address}/24", "dev", "eth0")
        ip(*inside, "link", "set", "eth0", "up")
        ip(*inside, "link", "set", "lo", "up")

    def run(self, argv: list[str], name: str, env: dict | None = None, cwd: str | None = None) -> Process:
        self.processes.append(Process(self, argv, name, env, cwd))
        return self.processes[-1]

    def cut(self) -> None:
        """Take its link down: its processes live on, unable to reach or be reached."""
        ip("link", "set", self.link, "down")

    def mend(self) -> None:
        ip("link", "set", self.link, "up")

    def kill_all(self) -> None:
        """Kill every process in the namespace, the ones they forked into sessions of their own too."""
        for process in self.processes:
            process.stop(signal.SIGKILL)
        _kill_all_in(self.namespace)

    @contextmanager
    def inside(self):
        """Open this thread's new sockets from this host (threads it starts meanwhile inherit it)."""
        with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{self.namespace}") as there:
            _setns(there.fileno())
            try:
                yield self
            finally:
                _setns(home.fileno())

    def remove(self) -> None:
        for process in reversed(self.processes):
            process.stop(timeout=5)
        _kill_all_in(self.namespace)
        ip("link", "del", self.link, check=False)
        ip("netns", "del", self.namespace, check=False)


class Network:
    """A bridge and the hosts on it, numbered from 10.77.0.2."""

    def __init__(self, var: Path | None = None):
        remove_leftovers()
        self.var = var or Path(tempfile.mkdtemp(prefix="spool-scale-"))
        self.bridge = f"sp{os.getpid()}br"
        self.hosts: dict[str, Host] = {}
        ip("link", "add", self.bridge, "type", "bridge")
        ip("link", "set", self.bridge, "up")

    def host(self, name: str) -> Host:
        self.hosts[name] = Host(self, name, len(self.hosts) + 2)
        return self.hosts[name]

    def close(self) -> None:
        for host in reversed(list(self.hosts.values())):
            host.remove()
        ip("link", "del", self.bridge, check=False)


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll `predicate` until it returns something truthy; raise TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")

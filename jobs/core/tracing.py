"""Traces through OpenTelemetry, when it is installed and configured; otherwise nothing at all.

    tracing.start("spool-worker")            # once, at a process's start: True when tracing is on
    with tracing.span("enqueue primes"): ... # a child of the current span (the web request's)
    tracing.traceparent()                    # the current span as W3C `traceparent`, for job meta
    with tracing.run(job, type, parent): ... # in the work horse: a span under the job's traceparent

Tracing is on when `OTEL_TRACES_EXPORTER` names an exporter (not "none"), or when
`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (the "otlp"
exporter then), unless `OTEL_SDK_DISABLED` is true. The exporter is found by its name among the
`opentelemetry_traces_exporter` entry points, as OpenTelemetry's own launcher finds it: "console"
comes with the SDK; "otlp" is opentelemetry-exporter-otlp-proto-http's, or -grpc's when
`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`. The SDK and the exporter read the rest (`OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`, the endpoint and its headers). When tracing is off,
Spool imports no module of OpenTelemetry.

A job's run is a span of the trace that enqueued it: the enqueuing span's context travels in
the job's meta as `traceparent`, so every attempt of a retried job, the jobs enqueued from a
running one (dependants among them), and its email and webhook join the same trace.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager, nullcontext

log = logging.getLogger(__name__)

_provider = None
_tracer = None
_KINDS = {"internal": "INTERNAL", "producer": "PRODUCER", "consumer": "CONSUMER"}


def exporter_name() -> str | None:
    """The exporter the environment asks for, or None when it asks for no traces."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    named = os.environ.get("OTEL_TRACES_EXPORTER", "").split(",")[0].strip()
    if named:
        return None if named == "none" else named
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return "otlp" if any(os.environ.get(name) for name in endpoints) else None


def _entry_point_names(name: str) -> list[str]:
    """The entry points that may hold the exporter `name`: "otlp" is one of two, by protocol
    (the SDK's own reading; unset, the specification's default, http/protobuf, is tried first)."""
    if name != "otlp":
        return [name]
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    by_protocol = {"grpc": ["otlp_proto_grpc"], "http/protobuf": ["otlp_proto_http"]}
    return by_protocol.get((protocol or "").strip(), ["otlp_proto_http", "otlp_proto_grpc"])


def active() -> bool:
    return _provider is not None


def start(service: str) -> bool:
    """Set this process's tracer provider up from the environment, once; say whether tracing is on."""
    global _provider, _tracer
    name = exporter_name()
    if _provider is not None or name is None:
        return _provider is not None
    try:
        from importlib.metadata import entry_points

        from opentelemetry import trace
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("OTEL_* asks for traces but opentelemetry-sdk is not installed: no traces are sent")
        return False
    found = [e for n in _entry_point_names(name) for e in entry_points(group="opentelemetry_traces_exporter", name=n)]
    if not found:
        log.warning("no OpenTelemetry trace exporter is called %r (is its package installed?): no traces", name)
        return False
    exporter = found[0].load()()
    # OTEL_SERVICE_NAME, when set, names the service; Spool's name for the process otherwise.
    given = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    provider = TracerProvider(resource=Resource.create(given))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider, _tracer = provider, trace.get_tracer("spool")
    return True


def span(name: str, *, kind: str = "internal", parent: str | None = None, attributes: dict | None = None):
    """A span as the current one, under `parent` (a traceparent) or else the current span."""
    if _provider is None:
        return nullcontext()
    from opentelemetry.trace import SpanKind
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    context = TraceContextTextMapPropagator().extract({"traceparent": parent}) if parent else None
    return _tracer.start_as_current_span(
        name, context=context, kind=getattr(SpanKind, _KINDS[kind]), attributes=attributes
    )


def traceparent() -> str | None:
    """The current span's context as a W3C traceparent, or None outside a span (or tracing)."""
    if _provider is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


def trace_id() -> str | None:
    """The current span's trace id (32 hex digits), for log lines; None outside a span."""
    if _provider is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def trace_id_of(parent: str | None) -> str | None:
    """The trace id inside a traceparent (`00-<trace id>-<span id>-<flags>`)."""
    parts = (parent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


@contextmanager
def run(job, job_type: str | None, parent: str | None):
    """The span of one attempt at a job, in the process that runs it, sent before that process
    exits (RQ's work horse leaves through os._exit, which no exporter thread survives)."""
    if _provider is None:
        yield None
        return
    job_type = job_type or (job.func_name or "").rpartition(".")[2]  # an internal job (a webhook's)
    attributes = {"spool.job.id": job.id, "spool.job.type": job_type, "spool.queue": job.origin}
    try:
        with span(f"run {job_type}", kind="consumer", parent=parent, attributes=attributes) as current:
            yield current
    finally:
        _provider.force_flush(timeout_millis=5000)

"""The tests' OpenTelemetry span exporter: each finished span as one JSON line in a file.

A process started with `tests/otel` on PYTHONPATH finds it as the trace exporter named
`spool_test_file` (`OTEL_TRACES_EXPORTER=spool_test_file`), through the same entry points that
name "console" and "otlp"; it appends to the file named by SPOOL_TEST_SPANS, so the web, the
worker and each work horse write to one file the test reads.
"""

from __future__ import annotations

import json
import os

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class FileSpanExporter(SpanExporter):
    def __init__(self):
        self.path = os.environ["SPOOL_TEST_SPANS"]

    def export(self, spans) -> SpanExportResult:
        lines = []
        for span in spans:
            context, parent = span.get_span_context(), span.parent
            lines.append(
                json.dumps(
                    {
                        "name": span.name,
                        "kind": span.kind.name,
                        "trace_id": format(context.trace_id, "032x"),
                        "span_id": format(context.span_id, "016x"),
                        "parent_id": format(parent.span_id, "016x") if parent else None,
                        "service": span.resource.attributes.get("service.name"),
                        "attributes": dict(span.attributes or {}),
                        "pid": os.getpid(),
                    }
                )
                + "\n"
            )
        with open(self.path, "a") as out:  # one write per batch: processes append whole lines
            out.write("".join(lines))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

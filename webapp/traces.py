"""Each request a span, through OpenTelemetry's Flask instrumentation, when tracing is on
(see jobs.core.tracing for what turns it on); otherwise nothing of OpenTelemetry is imported.

The spans a request makes (enqueueing a job, say) are its children, and the job's run joins
the same trace in the worker.
"""

from __future__ import annotations

from flask import Flask

from jobs.core import tracing


def init_app(app: Flask) -> None:
    if tracing.start("spool-web"):
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor().instrument_app(app)

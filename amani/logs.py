"""Log lines: JSON (one object a line) or text, with the request or job they belong to.

``LOGGING`` in settings sends every logger through one handler on the root logger, formatted by
``JsonFormatter`` (``LOG_FORMAT=json``) or plain text. ``ContextFilter`` adds the current request
id, or the current job's id and task, to every line, whichever logger wrote it: the ids live in
context variables set by ``amani.middleware.RequestLogMiddleware`` and by the worker's
``escrow.worker.job_context`` task middleware.
"""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

# What this request or job is, for every line written while it runs ({} outside either).
log_context: ContextVar[dict] = ContextVar("log_context", default={})  # noqa: B039 - never mutated, only replaced

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def logging_config(log_format: str, level: str) -> dict:
    """The ``dictConfig`` of Django's LOGGING and of gunicorn's ``logconfig_dict``: one handler, on
    the root, that every logger reaches by propagating."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "amani.logs.ContextFilter"}},
        "formatters": {"json": {"()": "amani.logs.JsonFormatter"}, "text": {"()": "amani.logs.TextFormatter"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["context"]},
            "null": {"class": "logging.NullHandler"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {},
    }


class ContextFilter(logging.Filter):
    """Puts the request's or job's ids on the record (an explicit ``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in log_context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then every ``extra`` field.

    Values JSON cannot represent (a Decimal, a UUID) are written as their ``str``. A traceback is one
    string field, so a line stays a line.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((key, value) for key, value in vars(record).items()
                    if key not in _STANDARD and not key.startswith("_"))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The classic one-line text, with the request's or job's ids when there are some."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(f"{key}={getattr(record, key)}" for key in ("request_id", "job_id", "task")
                       if getattr(record, key, None) is not None)
        record.ids = f" [{ids}]" if ids else ""
        return super().format(record)

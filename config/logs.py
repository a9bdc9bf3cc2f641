"""How logs are written, for Django's `LOGGING` (config/settings.py) and gunicorn's own lines (config/gunicorn.py)
alike: `LOG_FORMAT` is `text` (human-readable, the default) or `json` (one JSON object per line, by
python-json-logger with orjson: time, level, logger, message, and whatever the record carries, a request's id
among it)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson
from pythonjsonlogger.orjson import OrjsonFormatter, orjson_default

from apikeys.infra.logs import FIELDS
from config import env

LOG_FORMATS = ("text", "json")


class JsonFormatter(OrjsonFormatter):
    """python-json-logger's formatter (its orjson flavour: the standard library's encoder took ten times as long,
    most of a request line's cost), with a shortcut for the record written most, one per request, whose fields
    come whole (`extra={FIELDS: {...}}`): the same line without the library's walk over the record's attributes.
    Any other record, or one with an exception, takes the library's path."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__.get(FIELDS)
        if fields is None or record.exc_info or record.stack_info:
            return super().format(record)
        return self.format_fields(record.levelname, record.name, record.getMessage(), fields, record.created)

    def format_fields(self, level: str, logger: str, message: str, fields: dict, created: float) -> str:
        """The line of a record whose fields come whole, from its parts (`request_log.RequestLines` writes it
        without a record)."""
        line = {"level": level, "logger": logger, "message": message, **fields}
        line["timestamp"] = datetime.fromtimestamp(created, tz=UTC)  # orjson writes it as isoformat() does
        return orjson.dumps(line, default=orjson_default).decode()


JSON_FORMATTER = {
    "()": "config.logs.JsonFormatter",
    "fmt": "%(levelname)s %(name)s %(message)s",
    "rename_fields": {"levelname": "level", "name": "logger"},
    "timestamp": True,
}


def json_formatter() -> JsonFormatter:
    """The formatter `JSON_FORMATTER` describes, made here (gunicorn's own handlers take an instance)."""
    return JsonFormatter(**{name: value for name, value in JSON_FORMATTER.items() if name != "()"})


def log_format() -> str:
    return env.choice("LOG_FORMAT", LOG_FORMATS, "text")

"""How logs are written, for Django's `LOGGING` (config/settings.py) and gunicorn's own lines (config/gunicorn.py)
alike: `LOG_FORMAT` is `text` (human-readable, the default) or `json` (one JSON object per line, by
python-json-logger: time, level, logger, message, and whatever the record carries, a request's id among it)."""

from config import env

LOG_FORMATS = ("text", "json")
JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(levelname)s %(name)s %(message)s",
    "rename_fields": {"levelname": "level", "name": "logger"},
    "timestamp": True,
}


def log_format() -> str:
    return env.choice("LOG_FORMAT", LOG_FORMATS, "text")

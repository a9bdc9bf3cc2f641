"""Run one benchmark module in a configured Django process: `python -m benchmarks.launch MODULE`.

Django is set up before the module is imported, so it can import models at its top.
"""

import importlib
import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    importlib.import_module(f"benchmarks.{sys.argv[1]}").main()


if __name__ == "__main__":
    main()

"""``python -m services.notify``: one notify process (consumer, worker and API)."""

from __future__ import annotations

import uvicorn

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.logging import configure_logging


def main() -> None:
    settings = NotifySettings()
    configure_logging("notify", settings.log_level, settings.log_json)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)


if __name__ == "__main__":
    main()

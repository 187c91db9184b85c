"""``python -m services.ingest``: run the ingest service under uvicorn."""

from __future__ import annotations

import uvicorn

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from shared.logging import configure_logging


def main() -> None:
    settings = IngestSettings()
    configure_logging("ingest", settings.log_level, settings.log_json)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)


if __name__ == "__main__":
    main()

"""``python -m services.match``: run the match service on its own (port 8002)."""

from __future__ import annotations

import uvicorn

from services.match.app import create_app
from services.match.settings import MatchSettings
from shared.logging import configure_logging

if __name__ == "__main__":
    settings = MatchSettings()
    configure_logging("match", settings.log_level, settings.log_json)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)

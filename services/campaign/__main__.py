"""``python -m services.campaign``: one campaign process (consumer, outbox relay and API)."""

from __future__ import annotations

import uvicorn

from services.campaign.app import create_app
from services.campaign.settings import CampaignSettings
from shared.logging import configure_logging


def main() -> None:
    settings = CampaignSettings()
    configure_logging("campaign", settings.log_level, settings.log_json)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)


if __name__ == "__main__":
    main()

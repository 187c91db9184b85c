"""``python -m services.gateway``: the fake gateway on ``GATEWAY_HOST``:``GATEWAY_PORT`` (0.0.0.0:8025)."""

from __future__ import annotations

import uvicorn

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings

if __name__ == "__main__":
    settings = GatewaySettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)

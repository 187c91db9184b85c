"""``python -m services.gateway``: the fake gateway on ${GATEWAY_HOST:-0.0.0.0}:${GATEWAY_PORT:-8025}."""

from __future__ import annotations

import os

import uvicorn

from services.gateway.app import create_app

if __name__ == "__main__":
    uvicorn.run(
        create_app(),
        host=os.environ.get("GATEWAY_HOST", "0.0.0.0"),
        port=int(os.environ.get("GATEWAY_PORT", "8025")),
    )

"""A local JSONL file standing in for a gateway, so a demo shows what would be sent.

The recipient is written masked: the file is for eyes, and a phone number has no business in a
file that gets copied around with demo output.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from services.notify.channels.base import Channel, DeliveryError, OutboundMessage
from shared.masking import mask_text


class FileSinkChannel(Channel):
    def __init__(self, name: str, path: str | Path) -> None:
        self.name = name
        self._path = Path(path)
        self._lock = asyncio.Lock()

    async def send(self, msg: OutboundMessage) -> str:
        line = json.dumps(
            {
                "at": datetime.now(UTC).isoformat(),
                "channel": self.name,
                "delivery_id": msg.delivery_id,
                "to": mask_text(msg.to),
                "text": msg.text,
            },
            ensure_ascii=False,
        )
        async with self._lock:
            try:
                await asyncio.to_thread(self._append, line)
            except OSError as exc:
                raise DeliveryError(f"file sink: {exc.strerror or exc}", retryable=True) from exc
        return msg.delivery_id

    def _append(self, line: str) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

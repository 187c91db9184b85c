"""Configuration of the ingest service (environment variables prefixed ``INGEST_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class IngestSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    port: int = 8001
    mongodb_db: str = "chunfeng_ingest"
    consumer_group: str = Field(
        default="ingest", description="Kafka consumer group of ingest's funnel consumer"
    )
    # The relay is kicked after every write; the interval only bounds how long a missed kick
    # (or a write by another process) waits before its events are published.
    outbox_interval_s: float = Field(default=1.0, gt=0)
    outbox_max_backoff_s: float = Field(default=30.0, gt=0)
    # A county's door-to-door survey is a few thousand rows; the caps keep one upload from
    # holding the event loop (parsing is synchronous) or the memory of the process hostage.
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_import_rows: int = Field(default=5000, ge=1)

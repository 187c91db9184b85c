"""Settings shared by every service: where Kafka and MongoDB are, and how loudly to log.

Each service subclasses ``CommonSettings`` with its own prefix (``INGEST_``, ``MATCH_``,
``NOTIFY_``). The connection variables have no prefix, because one deployment sets them once
for all three. Leaving them unset selects the embedded bus and store (``make run``).
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.limits import DEFAULT_MAX_BODY_BYTES, DEFAULT_RATE_LIMIT, parse_rate


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    kafka_bootstrap_servers: str | None = Field(
        default=None, validation_alias="KAFKA_BOOTSTRAP_SERVERS", description="unset: embedded bus"
    )
    mongodb_url: str | None = Field(
        default=None, validation_alias="MONGODB_URL", description="unset: embedded store"
    )
    mongodb_max_pool: int = Field(
        default=10,
        ge=1,
        validation_alias="MONGODB_MAX_POOL",
        description="store operations in flight per process (and PyMongo's pool); "
        "FerretDB's PostgreSQL pool is sized from it (docs/store.md)",
    )
    topic_partitions: int = Field(default=3, ge=1, validation_alias="CHUNFENG_TOPIC_PARTITIONS")
    topic_prefix: str = Field(
        default="",
        validation_alias="CHUNFENG_TOPIC_PREFIX",
        description="namespace for topic names, so environments or test sessions can share a cluster",
    )
    api_keys: str | None = Field(
        default=None,
        validation_alias="CHUNFENG_API_KEYS",
        description="JSON list of {id, role, key_sha256, scope}, or a path to such a file (shared.auth)",
    )
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    log_json: bool = Field(default=True, validation_alias="LOG_JSON")
    host: str = "127.0.0.1"
    port: int = 8000
    mongodb_db: str = "chunfeng"
    # Limits of every request (shared/limits.py); each service reads them with its prefix
    # (INGEST_MAX_BODY_BYTES, MATCH_RATE_LIMIT, …).
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024, description="largest request body")
    rate_limit: str = Field(
        default=DEFAULT_RATE_LIMIT,
        description="requests per caller (API key, else IP), moving window, e.g. 6000/minute; empty: none",
    )
    rate_limit_admins: bool = Field(default=False, description="count admins' requests too")

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate(value)
        return value

"""Settings of the fake SMS/WeChat gateway (environment variables prefixed ``GATEWAY_``).

Read through pydantic-settings like every service's, so a bad value (a fail rate of 1.5, a port
that is not a number) stops the start with the variable named instead of surfacing mid-demo.
The gateway needs neither Kafka nor a database, hence not ``CommonSettings``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    # All interfaces: in compose the notify container reaches it by service name.
    host: str = "0.0.0.0"
    port: int = Field(default=8025, ge=1, le=65535)
    # Share of sends answered 503 before being accepted, to exercise notify's retries.
    fail_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    # Seconds between accepting a send and answering it: a caller killed in between has had its
    # message sent without learning so (the crash mid-send of the chaos runs).
    reply_delay_s: float = Field(default=0.0, ge=0.0, le=10.0)
    # Accepted messages, appended as JSON lines and read back at start (idempotency survives).
    jsonl: Path = Path("var/gateway/messages.jsonl")
    # Where inbound texts (a seeker replying 1/2) go: notify's POST /v1/sms/inbound; unset: kept only.
    inbound_url: str | None = None
    # The API key of the gateway principal (role "gateway") that notify accepts on that route.
    inbound_key: SecretStr | None = None
    inbound_timeout_s: float = Field(default=5.0, gt=0)

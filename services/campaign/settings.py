"""Campaign's configuration: where its database is, which consumer group it is, whose local day it
counts, and how the officials' dashboard keeps a browser signed in."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class CampaignSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_", extra="ignore")

    port: int = 8004
    mongodb_db: str = "chunfeng_campaign"
    consumer_group: str = Field(default="campaign", description="Kafka consumer group of campaign's consumer")
    timezone: str = Field(default="Asia/Shanghai", description="local days of follow-ups and circulars")
    outbox_interval_s: float = Field(default=1.0, gt=0)
    outbox_max_backoff_s: float = Field(default=30.0, gt=0)
    session_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="signs the dashboard's session cookie; unset: a random one per start "
        "(sessions then end at a restart, and several instances would not share them)",
    )
    session_max_age_s: int = Field(default=8 * 3600, ge=60, description="a dashboard login lasts this long")
    session_https_only: bool = Field(default=False, description="mark the cookie Secure (behind TLS)")
    transport_speed_kmh: float = Field(
        default=45,
        gt=5,
        le=120,
        description="bus speed over great-circle kilometres for pick-up times (roads are ~1.3x longer: "
        "45 here is ~60 km/h on the road); a plan may state its own",
    )
    transport_stop_minutes: int = Field(
        default=10,
        ge=0,
        le=120,
        description="minutes a bus waits at each pick-up point (and at the last, to unload)",
    )
    clock_offset_days: int = Field(
        default=0,
        ge=0,
        le=400,
        description="(rehearsal/tests only) campaign's clock runs this many days ahead, so the 30- and "
        "90-day marks can be driven on a real stack; keep 0 in production",
    )

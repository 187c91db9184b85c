"""Campaign's configuration: where its database is, which consumer group it is, whose local day it counts."""

from __future__ import annotations

from pydantic import Field
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

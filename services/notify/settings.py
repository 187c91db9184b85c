"""Notify's configuration: where messages go, when they may go, and how hard to try.

Every gateway URL is optional: without one, SMS and WeChat messages land in a local JSONL file,
so that a demo or a developer sees exactly what would have been sent without any account.
"""

from __future__ import annotations

from datetime import time

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class NotifySettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    port: int = 8003
    mongodb_db: str = "chunfeng_notify"
    consumer_group: str = Field(default="notify", description="Kafka consumer group of the notify consumer")

    sms_gateway_url: str | None = Field(default=None, description="unset: SMS goes to the file sink")
    wechat_gateway_url: str | None = Field(default=None, description="unset: WeChat goes to the file sink")
    file_sink_path: str = "var/notify/messages.jsonl"
    http_timeout_s: float = Field(default=5.0, gt=0)

    worker_interval_s: float = Field(default=1.0, gt=0)
    worker_batch: int = Field(default=50, ge=1)
    lease_s: float = Field(default=120.0, gt=0, description="a 'sending' older than this is retried")

    timezone: str = "Asia/Shanghai"
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    quiet_hours_wechat: bool = False
    daily_cap: int = Field(default=3, ge=0, description="recommendations pushed per seeker per local day")

    max_attempts: int = Field(default=5, ge=1)
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_max_s: float = Field(default=600.0, gt=0)

    sms_max_chars: int = Field(default=120, ge=40)

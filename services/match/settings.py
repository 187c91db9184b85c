"""Settings of the match service (environment variables prefixed ``MATCH_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class MatchSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="MATCH_", extra="ignore")

    port: int = 8002
    mongodb_db: str = "chunfeng_match"
    # MATCH_POLICY_PATH: another policy file, e.g. one an official edited; unset means the
    # shipped services/match/policy.toml. Read here only and passed to load_policy.
    policy_path: Path | None = Field(default=None, description="the scoring policy (TOML)")
    consumer_group: str = "match"
    # How often the wider-offer sweep looks for seekers who waited long enough (policy.toml's
    # [wider] says how long), and how many searches for them one sweep makes at most.
    wider_sweep_interval_s: float = Field(default=60.0, gt=0)
    wider_sweep_batch: int = Field(default=1000, ge=1)
    # MATCH_MAX_BATCH: records taken per poll and handled as one batch (one read, one publish, one
    # bulk write each); larger batches amortise more round trips but hold the commit longer.
    max_batch: int = Field(default=200, ge=1, le=5000, description="records per poll, handled as one batch")
    # Scale-out (services/match/sequence.py): MATCH_INSTANCES > 1, or MATCH_SEQUENCED=true with one
    # instance, makes match relay its inputs into one ordered log that every instance applies;
    # MATCH_INSTANCE (0-based) says which seekers' effects this process publishes and writes.
    instances: int = Field(default=1, ge=1, le=64, description="match instances sharing the work")
    instance: int = Field(default=0, ge=0, description="this instance's number, 0 .. instances-1")
    sequenced: bool = Field(default=False, description="the scale-out path even with one instance")

    @model_validator(mode="after")
    def _instance_in_range(self) -> MatchSettings:
        if self.instance >= self.instances:
            raise ValueError(f"MATCH_INSTANCE={self.instance} must be below MATCH_INSTANCES={self.instances}")
        return self

    @property
    def scale_out(self) -> bool:
        return self.sequenced or self.instances > 1

    # MATCH_CLOCK_OFFSET_DAYS: rehearsal and tests only (the fallback test lets 14 days pass on a
    # running stack with it), like CAMPAIGN_CLOCK_OFFSET_DAYS: the wider-offer sweep and the
    # fallback list see a clock this many days ahead. 0 in production.
    clock_offset_days: int = Field(default=0, ge=0, le=3650, description="days the sweep's clock runs ahead")

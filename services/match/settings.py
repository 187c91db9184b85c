"""Settings of the match service (environment variables prefixed ``MATCH_``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class MatchSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="MATCH_", extra="ignore")

    port: int = 8002
    mongodb_db: str = "chunfeng_match"
    policy_path: str | None = None  # default: services/match/policy.toml
    consumer_group: str = "match"

"""Projections from stored entities to the event payloads each consumer is allowed to see.

Kept in one place so that "least data in events" is decided once: the match view of a profile
drops name, phone, ID number, gender, ethnicity and street address; the contact view keeps
only what delivery needs.
"""

from __future__ import annotations

from typing import Any

from shared.events import ContactView, HomeArea, PostingView, ProfileMatchView
from shared.models import PostingIn, ProfileIn


def posting_view(posting: PostingIn, *, id: str, version: int, status: str) -> PostingView:
    data = posting.model_dump(mode="json")
    return PostingView(id=id, version=version, status=status, **data)  # type: ignore[arg-type]


def profile_match_view(
    profile: ProfileIn, *, id: str, version: int, status: str | None = None
) -> ProfileMatchView:
    data: dict[str, Any] = profile.model_dump(
        mode="json",
        include={
            "birth_year",
            "desired_wage",
            "max_commute_km",
            "whole_province",
            "out_of_province",
            "relocate",
            "skills",
            "experience",
            "certificates",
            "availability",
            "needs_benefits",
            "groups",
            "intention",
            "takes_short_jobs",
        },
    )
    home = HomeArea(adcode=profile.home.adcode, town=profile.home.town)
    return ProfileMatchView(
        id=id,
        version=version,
        status=status or profile.status,  # type: ignore[arg-type]
        home=home,
        **data,
    )


def display_name(name: str) -> str:
    """张三 -> 张**: a greeting that a lost phone's finder cannot use to identify the seeker."""
    return (name[:1] + "*" * max(1, len(name) - 1)) if name else "求职者"


def contact_view(profile: ProfileIn, *, id: str, version: int, active: bool = True) -> ContactView:
    return ContactView(
        profile_id=id,
        version=version,
        display_name=display_name(profile.name),
        phone=profile.phone,
        wechat_openid=profile.wechat_openid,
        webhook_url=profile.webhook_url,
        channels=list(profile.channels),
        consent=profile.contact_consent,
        active=active and profile.status == "looking",
        home_adcode=profile.home.adcode,
    )

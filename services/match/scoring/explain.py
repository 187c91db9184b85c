"""One Chinese sentence per recommendation, built from the factor breakdown.

It always names the distance and the wage first: officials and seekers ask those two before
anything else. Other parts appear only when they say something (no "无政策加分" noise).
"""

from __future__ import annotations

from shared.events import FactorScore

SEP = " · "


def sentence(factors: list[FactorScore]) -> str:
    by_name = {f.factor: f for f in factors}
    parts = [by_name["distance"].detail, by_name["wage"].detail]
    if "shift" in by_name:
        parts.append(by_name["shift"].detail)
    benefits = by_name.get("benefits")
    if benefits is not None and benefits.detail != "未注明福利":
        parts.append(benefits.detail)
    skills = by_name.get("skills")
    if skills is not None and skills.detail.startswith("技能对口"):
        parts.append(skills.detail)
    priority = by_name.get("priority")
    if priority is not None and priority.detail != "无政策加分":
        parts.append(priority.detail)
    return SEP.join(parts)

"""One Chinese sentence per recommendation, built from the factor breakdown.

It always names the distance and the wage first: officials and seekers ask those two before
anything else. Other parts appear only when they say something (no "无政策加分" noise).
"""

from __future__ import annotations

from shared.events import FactorScore

SEP = " · "


def sentence(factors: list[FactorScore]) -> str:
    return sentence_of({f.factor: f.detail for f in factors})


def sentence_of(details: dict[str, str]) -> str:
    """The sentence from each factor's detail (by factor name): a restart derives it from stored
    match documents without building their ``FactorScore``s."""
    parts = [details["distance"], details["wage"]]
    if "shift" in details:
        parts.append(details["shift"])
    benefits = details.get("benefits")
    if benefits is not None and benefits != "未注明福利":
        parts.append(benefits)
    skills = details.get("skills")
    if skills is not None and skills.startswith("技能对口"):
        parts.append(skills)
    priority = details.get("priority")
    if priority is not None and priority != "无政策加分":
        parts.append(priority)
    return SEP.join(parts)

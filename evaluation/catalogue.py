"""The campaign's world as the seed reports describe it: counties, job kinds, key enterprises.

Shares and levels are read off the five reports (``../shared/seeds``) and are rough on
purpose: the evaluation needs the *shape* of a Spring Breeze campaign (many small local
postings, a few key enterprises needing hundreds, mothers who can only work weekdays, a
county that buses hundreds to Zhejiang), not official statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.models import Availability, Benefit, Group, Shift


@dataclass(frozen=True, slots=True)
class County:
    adcode: str
    name: str
    region: str  # 九江 / 上饶 / 恩施 / 资中 / 浙江
    seekers: float  # relative share of seekers living here
    postings: float  # relative share of postings located here
    wage: int  # typical monthly wage of a plain factory job (CNY)
    out_of_province: float  # share of seekers here willing to work in another province


COUNTIES: tuple[County, ...] = (
    # 九江 (000): county industrial parks, 瑞昌's LED park
    County("360481", "瑞昌市", "九江", 6, 6, 3800, 0.08),
    County("360402", "濂溪区", "九江", 5, 5, 4000, 0.06),
    County("360429", "湖口县", "九江", 5, 4, 3700, 0.08),
    County("360483", "庐山市", "九江", 4, 3, 3600, 0.08),
    County("360426", "德安县", "九江", 4, 4, 3600, 0.08),
    # 上饶 (001): 14.74万 positions, big job fairs in every county
    County("361104", "广信区", "上饶", 6, 6, 3900, 0.10),
    County("361103", "广丰区", "上饶", 6, 6, 4000, 0.10),
    County("361130", "婺源县", "上饶", 4, 2, 3400, 0.18),  # 婺源→金华 就业直通车
    County("361128", "鄱阳县", "上饶", 8, 5, 3400, 0.12),
    County("361126", "弋阳县", "上饶", 4, 4, 3700, 0.10),
    County("361123", "玉山县", "上饶", 5, 5, 3800, 0.10),
    County("361129", "万年县", "上饶", 4, 4, 3700, 0.10),
    County("361125", "横峰县", "上饶", 3, 3, 3500, 0.10),
    County("361181", "德兴市", "上饶", 3, 3, 3800, 0.10),
    County("361102", "信州区", "上饶", 5, 5, 4100, 0.08),
    # 恩施州 (002): key enterprises in 恩施高新区 (恩施市), seekers bused from every county
    County("422801", "恩施市", "恩施", 6, 12, 4200, 0.08),
    County("422802", "利川市", "恩施", 5, 1.5, 3300, 0.12),
    County("422822", "建始县", "恩施", 4, 1, 3200, 0.12),
    County("422823", "巴东县", "恩施", 4, 1, 3200, 0.12),
    County("422825", "宣恩县", "恩施", 3, 1, 3200, 0.12),
    County("422826", "咸丰县", "恩施", 3, 1, 3200, 0.12),
    County("422827", "来凤县", "恩施", 3, 1, 3200, 0.12),
    County("422828", "鹤峰县", "恩施", 2, 1, 3200, 0.12),
    # 资中 (003): a labour-exporting county; 661 workers bused to 台州 in one day
    County("511025", "资中县", "资中", 10, 5, 3300, 0.40),
    # out-of-province destinations (003, 001): no seekers registered there
    County("331021", "玉环市", "浙江", 0, 3, 5600, 0.0),
    County("331002", "椒江区", "浙江", 0, 2, 5600, 0.0),
    County("330702", "婺城区", "浙江", 0, 2, 5400, 0.0),  # 金华巨江集团, 金华欣旺达
    County("330402", "南湖区", "浙江", 0, 1.5, 5700, 0.0),
)

SKILLS: tuple[str, ...] = (
    "普工",
    "电子装配",
    "刷屏测试",
    "电工",
    "叉车",
    "焊工",
    "品检",
    "客服",
    "货车司机",
    "缝纫",
    "锅炉工",
    "机械操作",
    "质量管理",
    "计算机",
    "销售",
    "学徒",
)
CERTIFICATES: tuple[str, ...] = ("电工证", "叉车证", "焊工证", "B2驾驶证", "锅炉证")
BENEFITS: tuple[str, ...] = tuple(b.value for b in Benefit)
GROUPS: tuple[str, ...] = tuple(g.value for g in Group)
SHIFTS: tuple[str, ...] = tuple(s.value for s in Shift)
AVAILABILITY: tuple[str, ...] = tuple(a.value for a in Availability)


@dataclass(frozen=True, slots=True)
class JobKind:
    title: str
    occupation: str
    skills: tuple[str, ...]
    certificates: tuple[str, ...]
    wage: float  # multiple of the county's plain factory wage
    weight: float  # share of postings
    shifts: tuple[float, float, float, float]  # probability of day, night, rotating, weekday_day
    max_age: int
    industry: str


JOB_KINDS: tuple[JobKind, ...] = (
    JobKind("流水线普工", "普工", ("普工",), (), 1.0, 24, (0.45, 0.05, 0.40, 0.10), 55, "电子制造"),
    JobKind(
        "电子装配工",
        "电子装配工",
        ("电子装配", "普工"),
        (),
        1.08,
        14,
        (0.35, 0.05, 0.45, 0.15),
        50,
        "电子制造",
    ),
    JobKind("流水线普工（宝妈班）", "普工", ("普工", "电子装配"), (), 0.95, 7, (0, 0, 0, 1), 50, "电子制造"),
    JobKind(
        "刷屏测试员", "测试员", ("刷屏测试", "电子装配"), (), 1.05, 4, (0.3, 0.1, 0.6, 0), 45, "电子制造"
    ),
    JobKind("电工", "电工", ("电工",), ("电工证",), 1.35, 6, (0.7, 0, 0.3, 0), 55, "机械制造"),
    JobKind("叉车司机", "叉车工", ("叉车",), ("叉车证",), 1.25, 5, (0.7, 0, 0.3, 0), 55, "物流"),
    JobKind("焊工", "焊工", ("焊工",), ("焊工证",), 1.45, 5, (0.8, 0, 0.2, 0), 55, "五金制品"),
    JobKind("品检员", "质检员", ("品检",), (), 1.05, 7, (0.8, 0, 0.2, 0), 50, "五金制品"),
    JobKind("客服专员", "客服", ("客服", "计算机"), (), 1.05, 6, (0.6, 0.1, 0.3, 0), 35, "数字服务"),
    JobKind("货车司机", "驾驶员", ("货车司机",), ("B2驾驶证",), 1.5, 4, (0.8, 0.1, 0.1, 0), 55, "物流"),
    JobKind("缝纫工", "缝纫工", ("缝纫",), (), 1.15, 6, (0.9, 0, 0.1, 0), 55, "纺织服装"),
    JobKind("锅炉工", "锅炉工", ("锅炉工",), ("锅炉证",), 1.3, 2, (0.3, 0, 0.7, 0), 55, "化工"),
    JobKind("机械操作工", "操作工", ("机械操作", "普工"), (), 1.15, 6, (0.4, 0.1, 0.5, 0), 50, "汽配"),
    JobKind("质量工程师", "工程师", ("质量管理", "计算机"), (), 1.7, 2, (1, 0, 0, 0), 45, "汽配"),
    JobKind("门店店员", "营业员", ("销售",), (), 0.85, 4, (0.9, 0, 0.1, 0), 50, "零售"),
    JobKind("技术学徒", "学徒", ("学徒", "普工"), (), 0.8, 2, (1, 0, 0, 0), 30, "五金制品"),
)


@dataclass(frozen=True, slots=True)
class KeyEnterprise:
    name: str
    adcode: str
    kind: str  # JobKind title
    headcount: int
    industry: str


# Key enterprises named in the reports; headcounts as reported (立讯: 5,100 in the year).
KEY_ENTERPRISES: tuple[KeyEnterprise, ...] = (
    KeyEnterprise("立讯精密工业（恩施）有限公司", "422801", "电子装配工", 5100, "电子制造"),
    KeyEnterprise("恩施达翔技术有限公司", "422801", "流水线普工", 900, "电子制造"),
    KeyEnterprise("恩施华芯科技有限公司", "422801", "刷屏测试员", 600, "电子制造"),
    KeyEnterprise("江西熔岩汽配有限公司", "361126", "机械操作工", 759, "汽配"),
    KeyEnterprise("上饶市软通数字科技有限公司", "361104", "客服专员", 300, "数字服务"),
    KeyEnterprise("江西广丰寸丰科技有限公司", "361103", "焊工", 120, "五金制品"),
    KeyEnterprise("瑞昌瑞晟光电科技有限公司", "360481", "流水线普工", 400, "LED"),
    KeyEnterprise("金华欣旺达新能源有限公司", "330702", "电子装配工", 500, "新能源"),
    KeyEnterprise("金华巨江集团有限公司", "330702", "机械操作工", 300, "机械制造"),
    KeyEnterprise("玉环阀门制造有限公司", "331021", "机械操作工", 661, "机械制造"),
    KeyEnterprise("资中银山鸿展工业有限责任公司", "511025", "流水线普工", 200, "化工"),
)

EMPLOYER_WORDS: tuple[str, ...] = (
    "电子",
    "科技",
    "实业",
    "光电",
    "五金",
    "服饰",
    "机械",
    "新材料",
    "汽配",
    "物流",
)


@dataclass(frozen=True, slots=True)
class Persona:
    """A kind of seeker from the reports; sets skills, availability and what they ask for."""

    name: str
    weight: float
    groups: tuple[tuple[str, float], ...]  # (group, probability)
    skills: tuple[tuple[str, float], ...]  # (skill, probability)
    age: tuple[int, int]
    availability: tuple[float, float, float]  # any, day_only, weekdays_only
    commute_km: tuple[float, float]  # uniform range of the stated maximum commute
    wage: float  # desired wage as a multiple of the home county's level
    intention: str


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "返乡农民工",
        34,
        (("returning_migrant", 0.9), ("poverty_alleviated", 0.2)),
        (("普工", 0.9), ("电子装配", 0.5), ("机械操作", 0.25), ("缝纫", 0.15), ("刷屏测试", 0.1)),
        (22, 50),
        (0.85, 0.1, 0.05),
        (30, 120),
        1.1,
        "以前在外地电子厂务工，想在家门口找工作",
    ),
    Persona(
        "宝妈",
        16,
        (("returning_migrant", 0.4), ("poverty_alleviated", 0.25), ("low_income", 0.1)),
        (("普工", 0.8), ("电子装配", 0.5), ("缝纫", 0.3), ("品检", 0.3), ("销售", 0.15)),
        (24, 45),
        (0.05, 0.25, 0.7),
        (8, 30),
        0.95,
        "想找离家近、周末休息的工作，方便照顾读书的孩子",
    ),
    Persona(
        "脱贫劳动力",
        14,
        (("poverty_alleviated", 0.95), ("low_income", 0.2), ("zero_employment_family", 0.1)),
        (("普工", 0.8), ("缝纫", 0.15), ("学徒", 0.1)),
        (30, 58),
        (0.6, 0.35, 0.05),
        (15, 60),
        0.9,
        "家里有老人要照顾，希望就近就业",
    ),
    Persona(
        "技术工人",
        12,
        (("returning_migrant", 0.7),),
        (
            ("电工", 0.35),
            ("焊工", 0.25),
            ("叉车", 0.25),
            ("货车司机", 0.2),
            ("锅炉工", 0.08),
            ("机械操作", 0.4),
            ("普工", 0.4),
        ),
        (25, 55),
        (0.8, 0.2, 0.0),
        (30, 150),
        1.3,
        "有技术有证书，工资待遇合适就去",
    ),
    Persona(
        "高校毕业生",
        10,
        (("graduate", 1.0), ("registered_unemployed", 0.2)),
        (("计算机", 0.7), ("客服", 0.5), ("质量管理", 0.3), ("销售", 0.2), ("品检", 0.15)),
        (21, 26),
        (0.7, 0.3, 0.0),
        (30, 200),
        1.15,
        "想找五险一金齐全、有发展的工作",
    ),
    Persona(
        "就业困难人员",
        6,
        (
            ("hard_to_employ", 0.8),
            ("low_income", 0.4),
            ("disabled", 0.2),
            ("zero_employment_family", 0.2),
            ("registered_unemployed", 0.5),
        ),
        (("普工", 0.6), ("销售", 0.2)),
        (35, 60),
        (0.4, 0.5, 0.1),
        (5, 25),
        0.8,
        "希望有一份稳定的工作",
    ),
    Persona(
        "外出务工人员",
        8,
        (("returning_migrant", 0.8), ("poverty_alleviated", 0.15)),
        (("普工", 0.8), ("机械操作", 0.4), ("电子装配", 0.3), ("焊工", 0.1)),
        (20, 50),
        (0.95, 0.05, 0.0),
        (50, 200),
        1.3,
        "愿意出省务工，工资高、包吃住就去",
    ),
)

# Certificates that come with a skill (a 电工 has a 电工证 with this probability).
SKILL_CERTIFICATE: dict[str, tuple[str, float]] = {
    "电工": ("电工证", 0.8),
    "叉车": ("叉车证", 0.85),
    "焊工": ("焊工证", 0.75),
    "货车司机": ("B2驾驶证", 0.95),
    "锅炉工": ("锅炉证", 0.8),
}

"""Chinese text to comparable skill tokens, and certificate names to one canonical form.

Segmentation uses ``rjieba`` (a maintained Rust port of jieba's algorithm and dictionary):
``jieba`` 0.42.1 is unmaintained and imports ``pkg_resources``, which newer setuptools drop.
Segmentation is the costly part of scoring, and the same texts (titles, skill lists) recur
across thousands of postings and seekers, so every function here is cached on its input string.

Synonyms fold the words officials, HR and seekers use for one trade onto one token (普工,
操作工 and 流水线 are the same job to a seeker), so that a seeker who "会开叉车" meets a posting
that wants a "叉车司机". The tables are data, meant to grow with what the bureaus see.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import rjieba

# canonical token -> words meaning the same trade or skill
SYNONYMS: dict[str, tuple[str, ...]] = {
    "普工": ("普工", "操作工", "流水线", "作业员", "生产线", "产线", "普通工人", "流水线工人", "车间工人"),
    "电工": ("电工", "电工证", "低压电工", "低压电工证", "高压电工", "电工操作证", "维修电工", "水电工"),
    "叉车": ("叉车", "叉车证", "叉车司机", "叉车工", "铲车", "开叉车"),
    "焊工": ("焊工", "电焊", "电焊工", "焊接", "氩弧焊", "二保焊", "焊工证", "电焊证"),
    "质检": ("质检", "品检", "检验", "检验员", "检验工", "品检员", "质检员", "品管", "qc", "品质"),
    "客服": ("客服", "话务", "话务员", "客服专员", "接线员", "电话客服", "坐席"),
    "装配": ("装配", "组装", "装配工", "组装工", "电子装配", "插件"),
    "电子": ("电子", "电子产品", "电子厂", "电子元件"),
    "测试": ("测试", "刷屏", "测试员", "检测"),
    "司机": ("司机", "驾驶员", "货车司机", "驾驶", "开车", "驾照", "驾驶证"),
    "缝纫": ("缝纫", "车工", "缝纫工", "平车", "制衣", "服装"),
    "机械": ("机械", "机械工", "机修", "钳工", "车床", "数控", "cnc"),
    "厨师": ("厨师", "厨工", "帮厨", "后厨"),
    "保洁": ("保洁", "保洁员", "清洁工"),
    "保安": ("保安", "保安员", "门卫"),
    "仓管": ("仓管", "仓库", "仓储", "库管", "理货"),
    "销售": ("销售", "导购", "营业员", "售货员"),
    "育婴": ("育婴", "育婴师", "母婴", "月嫂", "保育员"),
    "锅炉": ("锅炉", "锅炉工", "司炉"),
}

# canonical certificate -> spellings seen on forms
CERTIFICATES: dict[str, tuple[str, ...]] = {
    "电工证": (
        "电工证",
        "低压电工证",
        "低压电工作业证",
        "电工操作证",
        "电工上岗证",
        "特种作业操作证电工",
        "特种作业操作证(电工)",
        "电工作业证",
        "低压电工",
    ),
    "高压电工证": ("高压电工证", "高压电工作业证", "高压电工"),
    "叉车证": (
        "叉车证",
        "叉车司机证",
        "叉车操作证",
        "n1",
        "n1证",
        "叉车",
        "特种设备作业人员证(叉车)",
        "场(厂)内专用机动车辆作业证",
    ),
    "焊工证": ("焊工证", "电焊证", "电焊工证", "熔化焊接与热切割作业证", "焊接作业证"),
    "健康证": ("健康证", "健康证明", "食品从业人员健康证"),
    "驾驶证C1": ("c1", "c1驾照", "c1驾驶证", "驾驶证c1", "小车驾照"),
    "驾驶证B2": ("b2", "b2驾照", "b2驾驶证", "驾驶证b2"),
    "驾驶证A2": ("a2", "a2驾照", "a2驾驶证", "驾驶证a2"),
    "育婴师证": ("育婴师证", "育婴员证", "育婴师"),
    "锅炉证": ("锅炉证", "司炉证", "锅炉操作证", "工业锅炉司炉证"),
}

# words in free text that say nothing about a trade
STOPWORDS: frozenset[str] = frozenset(
    """工作 岗位 离家 离家近 家近 周末 休息 方便 照顾 孩子 小孩 读书 想找 想 找 适合 需要 求职者
    白班 夜班 双休 周一 周五 周一至周五 公司 有限公司 企业 招聘 经验 优先 以上 一年 两年 可以
    能够 能 会 有 没有 做过 做 从事 熟悉 要求 工资 待遇 月薪 包吃住 五险一金 上班 下班 时间
    稳定 长期 本地 附近 家门口 就业 一名 若干 多名 男女 不限 年龄 身体健康 吃苦耐劳 负责 相关
    以及 进行 我们 你们 一些 这个 那个 还有 或者 希望 家里 老人 父母 接送 宝妈 宝妈班 带娃
    陪读 人员 员工 工人 师傅 学徒 年 个 月 天""".split()
)

CARE_WORDS = ("照顾", "孩子", "小孩", "宝妈", "接送", "老人", "带娃", "陪读", "读书", "父母", "怀孕", "哺乳")

_TOKEN_OK = re.compile(r"^[\w\u4e00-\u9fff]+$")

_CANON: dict[str, str] = {w.lower(): canon for canon, words in SYNONYMS.items() for w in words}
_CERT: dict[str, str] = {w.lower(): canon for canon, words in CERTIFICATES.items() for w in words}

for _word in {*_CANON, *(w for w in _CERT if len(w) > 2)}:
    if not _word.isascii():
        rjieba.add_word(_word, None, None)  # keep domain words whole ("品检员", "叉车司机")


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


@lru_cache(maxsize=200_000)
def tokens(text: str) -> tuple[str, ...]:
    """Canonical skill tokens of a text, in order, stopwords and single characters dropped."""
    out: list[str] = []
    for raw in rjieba.cut(_clean(text)):
        word = raw.strip()
        if not word or not _TOKEN_OK.match(word) or word.isdigit():
            continue
        canon = _CANON.get(word)
        if canon is None:
            if len(word) < 2 or word in STOPWORDS:
                continue
            canon = word
        out.append(canon)
    return tuple(out)


@lru_cache(maxsize=50_000)
def certificate(name: str) -> str:
    """The canonical name of a certificate ("低压电工证" -> "电工证"); unknown names stay as typed."""
    key = re.sub(r"\s+", "", _clean(name)).replace("（", "(").replace("）", ")")
    if key in _CERT:
        return _CERT[key]
    bare = re.sub(r"\(.*?\)", "", key)
    return _CERT.get(bare, bare or key)


def certificates(names: Iterable[str]) -> frozenset[str]:
    return frozenset(certificate(n) for n in names if n and n.strip())


@lru_cache(maxsize=100_000)
def implies_care(text: str) -> bool:
    """Whether a seeker's own words mention children or elders to look after (宝妈班 suits them)."""
    return any(w in text for w in CARE_WORDS)


def skill_vector(fields: Iterable[tuple[str, float]], max_tokens: int) -> dict[str, float]:
    """A unit-length weighted bag of tokens, cut to the ``max_tokens`` heaviest.

    Weights say where a word came from (a skills list counts more than a description). The cut
    bounds the index's memory per entity; the pair-by-pair path uses this same vector, so both
    paths compute the same cosine.
    """
    weights: dict[str, float] = {}
    for text, weight in fields:
        if not text:
            continue
        for tok in tokens(text):
            weights[tok] = weights.get(tok, 0.0) + weight
    if not weights:
        return {}
    top = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:max_tokens]
    norm = math.sqrt(sum(w * w for _, w in top))
    return {tok: w / norm for tok, w in top}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())

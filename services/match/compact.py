"""Compact in-memory forms of what the engine keeps per seeker, posting and match.

Why: at a province's scale (1M seekers, 100k postings, a few active matches per seeker) the
engine's Python objects, not the index, decided match's memory: a pydantic ``MatchView`` with
its six ``FactorScore`` and its own ``PostingSummary`` cost kilobytes per match, a
``PostingView`` kilobytes per posting. Here each is kept as bytes and rebuilt when read:

- ``PairCodec``: a scored pair (score, distance, factor breakdown, reason) as one ``bytes`` of
  38 bytes (plus the object's 33) for the engine's pairs. Factor names and weights are the
  policy's, so they are part of a small "shape" id; the detail strings repeat across pairs
  (``距家约15公里``, ``五险一金``), so they are interned ids; factor scores are stored as
  ten-thousandths and distances as tenths of a km when that is exact (the engine rounds them
  so), as doubles otherwise; the reason is omitted when it is ``explain.sentence`` of the
  factors, as the engine writes it. Decoding gives back equal values, so decisions and emitted
  views are unchanged.
- ``JsonPacker``: a view's JSON deflated against a preset dictionary (the model's JSON schema and
  the dump of a minimal instance), so the field names that are half of a small document cost
  almost nothing; inflating takes a few microseconds.

The interned strings are never dropped: there are few distinct details (distances in whole km,
wage ranges, skill overlaps, a handful of shift, benefit and priority texts).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from shared.events import FactorScore

from .scoring import explain

_SHAPE = struct.Struct("<H")  # every pair starts with its shape id; the score follows
_SCORE = struct.Struct("<d")
_WBITS = -15  # raw deflate: no header or checksum (the bytes never leave the process)
# memLevel 2: a small compressor state is set up faster; documents of a few hundred bytes lose nothing
_MEM_LEVEL = 2
_TICKS_CACHED = 1 << 16


@dataclass(frozen=True, slots=True)
class _Shape:
    """What pairs of one layout share: factor names and weights, and how the numbers are stored."""

    names: tuple[str, ...]
    weights: tuple[float, ...]
    ticks: bool  # factor scores as ten-thousandths (uint16), else doubles
    short_ids: bool  # detail ids fit uint16
    tenths: bool  # distance as tenths of a km (uint32), else a double (NaN: none)
    derived: bool  # reason is explain.sentence(factors), else a string id follows
    body: struct.Struct


def _exact_ticks(value: float, scale: int, limit: int) -> int | None:
    """``value`` as a whole number of 1/scale when that is exact and below ``limit``."""
    ticks = round(value * scale)
    return ticks if 0 <= ticks < limit and ticks / scale == value else None


class PairCodec:
    """Scored pairs to and from bytes (see the module docstring)."""

    def __init__(self) -> None:
        self._string_ids: dict[str, int] = {}
        self._strings: list[str] = []
        self._shape_ids: dict[tuple[object, ...], int] = {}
        self._shapes: list[_Shape] = []
        # factor score -> ten-thousandths (None: not exact); rounded scores repeat across millions
        # of pairs, so a restart looks them up; bounded, as unrounded scores need not repeat
        self._ticks: dict[float, int | None] = {}

    def _string(self, text: str) -> int:
        sid = self._string_ids.get(text)
        if sid is None:
            sid = self._string_ids[text] = len(self._strings)
            self._strings.append(text)
        return sid

    def _shape(self, key: tuple[tuple[str, ...], tuple[float, ...], bool, bool, bool, bool]) -> int:
        shape = self._shape_ids.get(key)
        if shape is None:
            names, weights, ticks, short_ids, tenths, derived = key
            n = len(names)
            fmt = "<d" + ("I" if tenths else "d") + ("" if derived else "I")
            fmt += ("H" if ticks else "d") * n + ("H" if short_ids else "I") * n
            shape = self._shape_ids[key] = len(self._shapes)
            self._shapes.append(_Shape(names, weights, ticks, short_ids, tenths, derived, struct.Struct(fmt)))
        return shape

    def _score_ticks(self, score: float) -> int | None:
        try:
            return self._ticks[score]
        except KeyError:
            ticks = _exact_ticks(score, 10_000, 0x10000)
            if len(self._ticks) < _TICKS_CACHED:
                self._ticks[score] = ticks
            return ticks

    def encode(
        self, score: float, distance_km: float | None, factors: Sequence[FactorScore], reason: str
    ) -> bytes:
        return self.encode_fields(
            score,
            distance_km,
            tuple(f.factor for f in factors),
            tuple(f.weight for f in factors),
            [f.score for f in factors],
            [f.detail for f in factors],
            reason,
        )

    def encode_fields(
        self,
        score: float,
        distance_km: float | None,
        names: tuple[str, ...],
        weights: tuple[float, ...],
        scores: Sequence[float],
        details: Sequence[str],
        reason: str,
    ) -> bytes:
        """``encode`` from the factors' columns: a restart encodes stored match documents without
        building a ``FactorScore`` per factor."""
        # (a restart encodes millions of pairs: the caches are read inline, the methods fill them)
        cached = self._ticks
        ticks = [cached[s] if s in cached else self._score_ticks(s) for s in scores]
        fixed = None not in ticks
        string_ids = self._string_ids
        ids = [string_ids[d] if d in string_ids else self._string(d) for d in details]
        short_ids = max(ids, default=0) < 0x10000
        tenths = None if distance_km is None else _exact_ticks(distance_km, 10, 2**32)
        try:
            derived = bool(names) and explain.sentence_of(dict(zip(names, details, strict=True))) == reason
        except KeyError:  # a breakdown without distance or wage: keep its reason as given
            derived = False
        key = (names, weights, fixed, short_ids, tenths is not None, derived)
        shape = self._shape(key)
        values: list[float | int] = [score, math.nan if distance_km is None else distance_km]
        if tenths is not None:
            values[1] = tenths
        if not derived:
            values.append(self._string(reason))
        values += [t for t in ticks if t is not None] if fixed else list(scores)
        values += ids
        return _SHAPE.pack(shape) + self._shapes[shape].body.pack(*values)

    def decode(self, blob: bytes) -> tuple[float, float | None, list[FactorScore], str]:
        """(score, distance in km or None, factors, reason) as they were encoded."""
        shape = self._shapes[_SHAPE.unpack_from(blob)[0]]
        values = shape.body.unpack_from(blob, _SHAPE.size)
        score, distance = values[0], values[1]
        if shape.tenths:
            distance = distance / 10
        at = 2 if shape.derived else 3
        n = len(shape.names)
        factors = [
            FactorScore(
                factor=shape.names[i],
                score=values[at + i] / 10_000 if shape.ticks else values[at + i],
                weight=shape.weights[i],
                detail=self._strings[values[at + n + i]],
            )
            for i in range(n)
        ]
        reason = explain.sentence(factors) if shape.derived else self._strings[values[2]]
        return score, (None if math.isnan(distance) else distance), factors, reason

    @staticmethod
    def score(blob: bytes) -> float:
        return float(_SCORE.unpack_from(blob, _SHAPE.size)[0])


class JsonPacker:
    """A model's JSON deflated against a preset dictionary of what all its documents share."""

    def __init__(self, zdict: bytes) -> None:
        self._zdict = zdict[-32_768:]  # deflate looks back at most 32 KiB

    def pack(self, raw: bytes) -> bytes:
        z = zlib.compressobj(6, zlib.DEFLATED, _WBITS, _MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY, self._zdict)
        return z.compress(raw) + z.flush()

    def unpack(self, packed: bytes) -> bytes:
        z = zlib.decompressobj(_WBITS, self._zdict)
        return z.decompress(packed) + z.flush()

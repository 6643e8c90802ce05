"""Undo what newspaper text extraction does to a page, keeping a map back to the raw text.

Cleaning only deletes characters or replaces them one for one, so every cleaned
character has a raw position and a citation can point into the original file.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import jieba

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_PUNCT = r"\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2014\u2018\u2019\u201c\u201d\u2026\u00b7"
WIDE = CJK + CJK_PUNCT
TERMINAL = "。！？!?；;…"
CLOSERS = "”’」』）)》"
BLOCK_START = re.compile(
    r"^(#|——|—|（上接|\(上接|本报.{0,12}[讯电]|新华社.{0,16}电|新华社记者|[^，。]{0,8}融媒[讯记]|记者\s)"
)
WIDE_LINE = 40

_SPACE_FIX = str.maketrans({"\u3000": " ", "\u00a0": " ", "\t": " ", "\r": "\n", "\ufeff": " "})
_LETTER_SPACED = re.compile(rf"(?:[{WIDE}] +){{2,}}[{WIDE}]")
_SPACES_BY_PUNCT_OR_DIGIT = re.compile(
    rf"(?<=[{CJK_PUNCT}]) +|(?<=\S) +(?=[{CJK_PUNCT}])|(?<=[{CJK}]) +(?=[0-9])|(?<=[0-9]) +(?=[{CJK}])"
)
_TRAILING = re.compile(r"[ ]+(?=\n)|[ ]+$|^[ ]+|(?<=\n)[ ]+")
_EXTRA_NEWLINES = re.compile(r"(?<=\n\n)\n+")


@dataclass
class Cleaned:
    """Cleaned text plus ``index[i]`` = raw offset of cleaned character ``i``."""

    text: str
    index: list[int]

    def delete(self, ranges: list[tuple[int, int]]) -> Cleaned:
        """Drop the given sorted, non-overlapping ``[start, end)`` ranges."""
        if not ranges:
            return self
        parts, idx, pos = [], [], 0
        for start, end in ranges:
            parts.append(self.text[pos:start])
            idx.extend(self.index[pos:start])
            pos = end
        parts.append(self.text[pos:])
        idx.extend(self.index[pos:])
        return Cleaned("".join(parts), idx)

    def delete_matches(self, pattern: re.Pattern[str]) -> Cleaned:
        return self.delete([m.span() for m in pattern.finditer(self.text) if m.end() > m.start()])

    def spans(self) -> list[tuple[int, int]]:
        """Compress ``index`` to ``(clean_start, raw_start)`` runs of consecutive characters."""
        runs: list[tuple[int, int]] = []
        for i, raw in enumerate(self.index):
            if not runs or raw != self.index[i - 1] + 1:
                runs.append((i, raw))
        return runs


def clean(raw: str) -> Cleaned:
    """Normalise spaces, join wrapped lines, drop repeated blocks; see module docstring."""
    text = raw.replace("\r\n", " \n").translate(_SPACE_FIX)
    out = Cleaned(text, list(range(len(raw))))
    out = out.delete(_letter_spacing(out.text))
    out = out.delete_matches(_SPACES_BY_PUNCT_OR_DIGIT)
    out = out.delete_matches(_TRAILING)
    out = out.delete(_wrap_breaks(out.text))
    out = out.delete(_repeated_blocks(out.text))
    out = out.delete_matches(_EXTRA_NEWLINES)
    lead = len(out.text) - len(out.text.lstrip("\n"))
    tail = len(out.text.rstrip("\n"))
    return out.delete([(0, lead)] + ([(tail, len(out.text))] if tail < len(out.text) else []))


def _letter_spacing(text: str) -> list[tuple[int, int]]:
    """Spaces inside runs like ``力 推 进`` (three or more characters spaced apart)."""
    return [
        (m.start() + s.start(), m.start() + s.end())
        for m in _LETTER_SPACED.finditer(text)
        for s in re.finditer(" +", m.group())
    ]


def _lines(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each non-empty line."""
    return [m.span() for m in re.finditer(r"[^\n]+", text)]


def _width(line: str) -> float:
    """Printed width in CJK character cells: ASCII counts half."""
    return len(line) - 0.5 * len(line.encode("ascii", "ignore"))


def _column_width(widths: list[float]) -> int | None:
    """The typical width of a narrow-column page, or ``None`` for wide paragraphs."""
    narrow = [round(w) for w in widths if 8 <= w < WIDE_LINE]
    if len(narrow) < 10 or len(narrow) < 0.5 * len(widths):
        return None
    return Counter(narrow).most_common(1)[0][0]


def ends_sentence(line: str) -> bool:
    """Whether a line ends a sentence (closing quotes after 。 count) or is a jump line."""
    bare = line.rstrip(CLOSERS)
    return bool(bare) and bare[-1] in TERMINAL or line.endswith(("版）", "版)"))


def _wrap_breaks(text: str) -> list[tuple[int, int]]:
    """Newline runs that break a sentence across lines (to delete)."""
    lines = _lines(text)
    widths = [_width(text[s:e]) for s, e in lines]
    column = _column_width(widths)
    breaks = []
    for (s1, e1), (s2, _), width in zip(lines, lines[1:], widths):
        line, following = text[s1:e1], text[s2 : s2 + 24]
        if ends_sentence(line) or line.startswith("#") or BLOCK_START.match(following):
            continue
        if column is not None:
            wraps = width >= column - 3
        else:
            wraps = width >= WIDE_LINE or (width >= 10 and not BLOCK_START.match(line) and _splits_word(line, following))
        if wraps:
            breaks.append((e1, s2))
    return breaks


def _splits_word(line: str, following: str) -> bool:
    """Whether a dictionary word spans the line break, e.g. ``书记关`` / ``于全区``."""
    head, tail = line[-3:], following[:3]
    if not re.match(f"[{CJK}]", head[-1:]) or not re.match(f"[{CJK}]", tail):
        return False
    pos = 0
    for word in jieba.lcut(head + tail, HMM=False):
        if pos < len(head) < pos + len(word):
            return True
        pos += len(word)
    return False


def _repeated_blocks(text: str) -> list[tuple[int, int]]:
    """Ranges of paragraphs that repeat earlier ones: runs of two or more, or one long paragraph."""
    lines = _lines(text)
    paras = [text[s:e] for s, e in lines]
    first: dict[str, list[int]] = {}
    drop: set[int] = set()
    i = 0
    while i < len(paras):
        best = 0
        for j in first.get(paras[i], []):
            k = 0
            while i + k < len(paras) and j + k < i and paras[j + k] == paras[i + k]:
                k += 1
            best = max(best, k)
        if best >= 2 or (best == 1 and len(paras[i]) >= 30):
            drop.update(range(i, i + best))
            i += best
            continue
        first.setdefault(paras[i], []).append(i)
        i += 1
    ends = [s for s, _ in lines[1:]] + [len(text)]
    return [(lines[i][0], ends[i]) for i in sorted(drop)]

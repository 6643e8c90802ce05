"""Small measures of text shared by the pipeline steps."""

from __future__ import annotations

import re

CJK_CHAR = re.compile(r"[\u3400-\u9fff]")


def cjk_share(text: str) -> float:
    """Fraction of a text's non-space characters that are Chinese."""
    chars = [c for c in text if not c.isspace()]
    return sum(bool(CJK_CHAR.match(c)) for c in chars) / len(chars) if chars else 0.0

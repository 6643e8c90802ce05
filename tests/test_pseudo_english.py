"""Chinese questions rendered into English word by word (training data for cross-lingual questions)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from pseudo_english import english_table, pseudo_english  # noqa: E402

TABLES = english_table()


def test_a_question_is_rendered_in_english_words_with_its_question_word_and_figures():
    rendered = pseudo_english("2019年西藏高新技术企业有多少家？", TABLES)
    assert not re.search(r"[\u3400-\u9fff]", rendered)
    assert "how many" in rendered and "2019" in rendered
    assert "tibet" in rendered
    assert rendered.endswith("?")


def test_a_word_the_dictionary_lacks_is_written_in_pinyin():
    rendered = pseudo_english("钟屏街道有多少搬迁群众？", TABLES)
    assert rendered.startswith("Zhong") and "how many" in rendered

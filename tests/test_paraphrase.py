"""Chinese questions reworded with synonyms (training data for questions that do not copy the page's words)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import jieba

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from paraphrase import paraphrase, synonym_table  # noqa: E402

TABLE = synonym_table()


def test_synonyms_share_a_sense_and_are_common_words():
    assert "建造" in TABLE["修建"]
    assert "濡毫" not in TABLE.get("写作", [])  # rare words are never put in


def test_a_rewording_keeps_question_words_names_and_figures():
    question = "美国政府在2019年修建了多少座桥梁？"
    rewordings = {paraphrase(question, TABLE, random.Random(seed)) for seed in range(20)}
    assert None not in rewordings and question not in rewordings
    for q in rewordings:
        assert "多少" in q and "美国" in q and "2019年" in q
    assert any("修建" not in q for q in rewordings)


def test_a_question_without_replaceable_words_gives_none():
    assert paraphrase("谁是李白？", TABLE, random.Random(0)) is None
    assert all(w not in TABLE for w in jieba.cut("谁是李白？"))

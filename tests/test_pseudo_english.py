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
    assert rendered.startswith("how many ") and "Zhongbing" in rendered.split()


def test_the_question_phrase_opens_the_question_as_english_asks():
    assert pseudo_english("孙中山的故乡在哪里？", TABLES).startswith("where ")
    assert pseudo_english("东德宪法在何时移除了这段叙述？", TABLES).startswith("when ")


def test_grammatical_words_read_as_english_grammar_not_as_first_senses():
    rendered = pseudo_english("百济在660年时被新罗与哪一国家给灭？", TABLES).split()
    assert "by" in rendered and "and" in rendered
    assert "quilt" not in rendered and "old" not in rendered


def test_a_word_the_dictionary_lacks_is_split_into_words_it_has_before_falling_back_to_pinyin():
    rendered = pseudo_english("营造业占就业人口的百分之多少？", TABLES)
    assert "business" in rendered and "Yingzaoye" not in rendered

"""The fitting script's learners and operating-point choices on small synthetic data."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from evallib import article, reader_article, short_right  # noqa: E402
from fit_answer import Example, choose_answer_threshold, fit_logistic, fit_ranker, swap_fact  # noqa: E402

from rag.features import SENTENCE_FEATURES  # noqa: E402


def test_listwise_ranker_learns_which_feature_marks_the_right_sentence():
    rng = np.random.default_rng(0)
    examples = []
    for _ in range(60):
        x = rng.normal(size=(6, len(SENTENCE_FEATURES)))
        labels = np.zeros(6)
        right = int(np.argmax(x[:, 0]))
        labels[right] = 1
        examples.append(Example("q", "answerable", True, x, labels, None, [], [], [], [], True))
    ranker = fit_ranker([e.x for e in examples], [e.labels for e in examples], SENTENCE_FEATURES)
    hits = sum(int(np.argmax(ranker.score(e.x))) == int(np.argmax(e.labels)) for e in examples)
    assert hits >= 55 and np.argmax(np.abs(ranker.weights)) == 0


def test_logistic_regression_separates_and_threshold_balances_the_two_sides():
    x = np.array([[0.0], [0.2], [0.4], [0.6], [0.8], [1.0]])
    y = np.array([0, 0, 0, 1, 1, 1], dtype=float)
    model = fit_logistic(x, y, ("f",))
    p = model.probability(x)
    assert (p[y == 1] > 0.5).all() and (p[y == 0] < 0.5).all()
    answerable = np.array([True, True, True, False, False, False])
    t, curve = choose_answer_threshold(np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1]), np.ones(6), answerable)
    assert 0.3 < t <= 0.7 and curve


def test_changed_fact_questions_name_what_the_passage_never_states():
    import random

    row = {"question": "2019年西藏有多少家高新技术企业？"}
    swapped = swap_fact(row, "2019年，西藏高新技术企业达69家。", ["上海"], random.Random(0))
    assert swapped and "2019" not in swapped and swapped.endswith("年西藏有多少家高新技术企业？")


def test_short_answer_criterion():
    assert short_right("9800多亿元", ["9800多亿元"]) and short_right("9800多亿", ["9800多亿元"])
    assert short_right("提升了40.8%", ["40.8%"]) and not short_right("7000多亿元", ["9800多亿元"])


def test_the_reader_and_the_answer_models_are_fitted_on_disjoint_halves_of_drcd():
    names = [article(f"drcd-train-{n}-3") for n in range(400)]
    assert names[0] == "drcd-train-0" and 150 < sum(map(reader_article, names)) < 250
    assert [reader_article(n) for n in names] == [reader_article(n) for n in names]  # stable across runs

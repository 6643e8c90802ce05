"""The fitting script's learners and operating-point choices on small synthetic data."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from evallib import ANSWER_SEED, answer_articles, answer_fold, article, reader_article, short_right  # noqa: E402
from fit_answer import (  # noqa: E402
    Example, balanced, choose_answer_threshold, fit_logistic, fit_mlp, fit_ranker, standard_error, swap_fact,
)

from rag.answer_model import AnswerModel, Mlp  # noqa: E402

from rag.features import SENTENCE_FEATURES  # noqa: E402


def test_listwise_ranker_learns_which_feature_marks_the_right_sentence():
    rng = np.random.default_rng(0)
    examples = []
    for _ in range(60):
        x = rng.normal(size=(6, len(SENTENCE_FEATURES)))
        labels = np.zeros(6)
        right = int(np.argmax(x[:, 0]))
        labels[right] = 1
        examples.append(Example("q", "drcd-train-0", "answerable", True, x, labels, None, [], [], [], [], True))
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


def test_the_threshold_is_the_highest_within_one_standard_error_of_the_best():
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.beta(5, 2, 600), rng.beta(2, 5, 900)])
    answerable = np.arange(1500) < 600
    right = answerable.astype(float)
    t, _ = choose_answer_threshold(p, right, answerable)
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    scores = np.array([balanced(p, right, answerable, float(g)) for g in grid])
    best = int(np.argmax(scores))
    floor = scores[best] - standard_error(p, right, answerable, float(grid[best]))
    assert t > grid[best] and balanced(p, right, answerable, t) >= floor
    assert (scores[grid > t] < floor).all()
    with pytest.raises(SystemExit, match="raise --limit"):  # a trial too small to hold both sides
        choose_answer_threshold(p[:600], right[:600], answerable[:600])


def test_the_network_learns_a_rule_no_linear_score_can_and_is_stored_as_json(tmp_path):
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 2, 400), rng.integers(0, 2, 400)
    x = np.column_stack([a, b, a * 0]) + rng.normal(0, 0.1, (400, 3))
    y = (a ^ b).astype(float)  # no weighted sum separates the four corners
    accuracy = {fit.__name__: ((fit(x, y, ("a", "b", "c")).probability(x) >= 0.5) == y).mean()
                for fit in (fit_logistic, fit_mlp)}
    assert accuracy["fit_mlp"] >= 0.97 and accuracy["fit_logistic"] <= 0.8
    network = fit_mlp(x, y, ("a", "b", "c"))
    assert fit_mlp(x, y, ("a", "b", "c")).w1.tolist() == network.w1.tolist()  # deterministic
    linear = fit_logistic(x, y, ("a", "b", "c"))
    model = AnswerModel(linear, linear, network, 0.5, 0.5, answerable_other=linear)
    model.save(tmp_path / "m.json")
    loaded = AnswerModel.from_json(__import__("json").loads((tmp_path / "m.json").read_text()))
    assert isinstance(loaded.decision(1.0), Mlp) and not isinstance(loaded.decision(0.0), Mlp)
    assert np.allclose(loaded.decision(1.0).probability(x), network.probability(x))
    assert AnswerModel(linear, linear, network, 0.5, 0.5).decision(0.0) is network


def test_changed_fact_questions_name_what_the_passage_never_states():
    import random

    pool = {"place": frozenset({"上海", "西藏"}), "person": frozenset({"张三"})}
    row = {"question": "2019年西藏有多少家高新技术企业？"}
    changes = {swap_fact(row, "2019年，西藏高新技术企业达69家。", pool, random.Random(seed)) for seed in range(12)}
    years = {c for c in changes if c.endswith("年西藏有多少家高新技术企业？") and "2019" not in c}
    assert "2019年上海有多少家高新技术企业？" in changes  # a place for a place, never for a person's name
    assert years and changes == years | {"2019年上海有多少家高新技术企业？"}  # the year or the place, one at a time
    month = swap_fact({"question": "2月份社会融资规模增量是多少？"}, "1月份社会融资规模增量为7.06万亿元。", {},
                      random.Random(0))
    assert month and month.endswith("月份社会融资规模增量是多少？") and not month.startswith(("1月", "2月"))
    assert swap_fact({"question": "社会融资规模增量是多少？"}, "1月份社会融资规模增量为7.06万亿元。", pool,
                     random.Random(0)) is None
    twice = swap_fact({"question": "西藏的高新技术企业占西藏企业的多少？"}, "西藏高新技术企业达69家。", pool,
                      random.Random(0))
    assert twice == "上海的高新技术企业占上海企业的多少？"  # never a question naming both places


def test_short_answer_criterion():
    assert short_right("9800多亿元", ["9800多亿元"]) and short_right("9800多亿", ["9800多亿元"])
    assert short_right("提升了40.8%", ["40.8%"]) and not short_right("7000多亿元", ["9800多亿元"])


def test_the_reader_and_the_answer_models_are_fitted_on_disjoint_halves_of_drcd():
    names = [article(f"drcd-train-{n}-3") for n in range(400)]
    assert names[0] == "drcd-train-0" and 150 < sum(map(reader_article, names)) < 250
    assert [reader_article(n) for n in names] == [reader_article(n) for n in names]  # stable across runs


def test_the_answer_models_hold_out_30_percent_of_their_articles_by_a_stable_draw():
    names = [article(f"drcd-train-{n}-3") for n in range(400)]
    fitted = answer_articles(names, random.Random(ANSWER_SEED))
    held = {n for n in names if not reader_article(n)} - fitted
    assert not any(map(reader_article, fitted)) and 0.25 < len(held) / (len(held) + len(fitted)) < 0.35
    assert fitted == answer_articles(reversed(names), random.Random(ANSWER_SEED))  # the order given does not matter
    folds = [answer_fold(n) for n in sorted(fitted)]
    assert folds == [answer_fold(n) for n in sorted(fitted)] and 0.35 < sum(folds) / len(folds) < 0.65


def test_an_unstated_fact_passage_keeps_its_story_and_loses_the_sentences_that_answer():
    from evallib import Passage, contains_gold

    from fit_answer import redacted

    passage = Passage("p-1", "", "钟屏街道是安置区之一。有搬迁群众4.87万人，分布在3个社区。岗位月均工资3500元。\n街道新建了车间。")
    out = redacted(passage, ["4.87万", "3500元"])
    assert out.text == "钟屏街道是安置区之一。\n街道新建了车间。" and out.pid == "p-1"
    assert not contains_gold(out.text, ["4.87万", "3500元"]) and redacted(passage, []).text == passage.text

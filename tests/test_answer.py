"""The answer stage on the sample pages, with the shipped fitted model."""

import pytest

import numpy as np

from rag.answer import disputed, retold, shown
from rag.answer_model import load_model
from rag.evidence import Candidate, near_text
from rag.features import QUESTION_FEATURES, READ_FEATURES, SENTENCE_FEATURES
from rag.pipeline import PaperTrail
from rag.types import Chunk, Filters, Hit, PageMeta


def test_shipped_model_matches_the_features_and_was_fitted_on_drcd():
    model = load_model()
    assert model.ranker.features == SENTENCE_FEATURES and model.answerable.features == QUESTION_FEATURES
    assert model.reranker.features == READ_FEATURES
    assert 0.0 < model.answer_threshold < 1.0
    assert "DRCD" in model.info["data"]


def test_evidence_is_a_whole_page_sentence_with_its_passage(sample_rag):
    decision = sample_rag.decide("青藏铁路电气化外电配套工程总投资多少亿元？")
    assert decision.answer and 0.0 <= decision.confidence <= 1.0
    best = decision.evidence[0]
    page = sample_rag.index.documents[best.hit.chunk.doc_id].text
    assert page[best.start : best.end] == best.text and "149.02" in best.text
    assert best.text in best.passage


@pytest.mark.parametrize("question", ["What is the weather on Mars today?", "测试", "深圳港2025年集装箱吞吐量是多少？"])
def test_questions_the_pages_cannot_answer_are_refused(sample_rag, question):
    answer = sample_rag.ask(question)
    assert answer.abstained and not answer.citations and answer.short_answer is None


def test_a_figure_for_another_city_is_refused(sample_rag):
    """The story names 上海 elsewhere and the evidence names 北京 (changed-fact examples now swap a place for a
    place, ``scripts/fit_answer.py``)."""
    assert sample_rag.ask("上海2025年技术合同成交额是多少？").abstained
    assert sample_rag.ask("上海1月份人民币贷款增加了多少？").abstained


def test_a_figure_for_a_city_the_story_does_not_give_is_refused(sample_rag):
    assert sample_rag.ask("天津已支持行业领军企业牵头建设多少家创新联合体？").abstained


def test_a_short_question_with_its_figure_on_the_page_is_answered(sample_rag):
    answer = sample_rag.ask("1月份社会融资规模增量是多少？")
    assert not answer.abstained and "7.06万亿" in answer.answer


def test_a_question_for_where_a_figure_went_is_answered_with_both_figures(sample_rag):
    answer = sample_rag.ask("北京技术合同成交额从多少增长到多少？")
    assert answer.short_answer == "7000多亿元增长至9800多亿元"
    assert answer.answer.startswith("7000多亿元增长至9800多亿元")


def test_a_question_for_how_much_a_figure_grew_is_answered_with_the_change(sample_rag):
    assert sample_rag.ask("北京技术合同成交额增长了多少").short_answer == "提升了40.8%"  # not the level, 9800多亿元
    assert sample_rag.ask("北京技术合同成交额增长到了多少？").short_answer == "9800多亿元"


STORY = ("# 基础研究投入创新高\n\n新华社北京3月5日电 过去一年，我国基础研究投入接近2800亿元，占比创历史新高。"
         "全社会研发投入超过3.92万亿元，全球创新指数排名跃升至第10位。\n\n"
         "科技部有关负责人表示，将继续加大对基础研究的稳定支持，完善多元投入机制。\n")


def test_a_year_a_dated_story_calls_last_year_is_a_year_it_states(sample_rag, tmp_path):
    for name, answered in (("科技日报_2026-03-05_02.txt", True), ("科技日报_2024-03-05_02.txt", False)):
        folder = tmp_path / name[:-4]
        folder.mkdir()
        (folder / name).write_text(STORY, encoding="utf-8")
        rag = PaperTrail.create(sample_rag.config.with_(index_dir=folder / "index"), sample_rag.embedder)
        rag.ingest([folder / name])
        answer = rag.ask("2025年我国基础研究投入是多少？")
        assert answer.abstained != answered, (name, answer.confidence)


def test_a_page_of_unknown_date_counts_last_year_from_a_dated_reprint_of_its_story(sample_rag, tmp_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "clipping.txt").write_text(STORY.replace("，", ",").replace("2800", "２８００"), encoding="utf-8")
    rag = PaperTrail.create(sample_rag.config.with_(index_dir=tmp_path / "index"), sample_rag.embedder)
    rag.ingest([folder / "clipping.txt"])
    undated = next(c for c in rag.index.chunks if "２８００" in c.text)
    assert rag.index.story_date(undated) is None and "2025年" not in near_text(rag.index, undated)
    (folder / "科技日报_2026-03-05_02.txt").write_text(STORY, encoding="utf-8")
    rag.ingest([folder / "科技日报_2026-03-05_02.txt"])
    undated = next(c for c in rag.index.chunks if "２８００" in c.text)
    assert undated.reprint_group and undated.meta.date is None
    assert rag.index.story_date(undated) == "2026-03-05" and "2025年" in near_text(rag.index, undated)


def test_a_refusal_names_the_filters_in_effect(sample_rag):
    answer = sample_rag.ask("青藏铁路电气化外电配套工程总投资多少亿元？", papers=["铜仁日报"], date_from="2026-04-01")
    assert answer.abstained and "铜仁日报" in answer.answer and "2026-04-01" in answer.answer
    assert Filters(["甲报"]).describe(False) == "papers: 甲报"


def test_short_answer_opens_the_answer_when_given(sample_rag):
    answer = sample_rag.ask("2019年西藏高新技术企业有多少家？")
    assert not answer.abstained
    if answer.short_answer:
        assert answer.answer.startswith(answer.short_answer) and answer.short_answer in answer.citations[0].sentence


def candidate(page: str, sentence: str) -> Candidate:
    chunk = Chunk(0, page, sentence, 0, len(sentence), "北京技术合同成交额五年增长四成", f"{page}.txt", PageMeta())
    return Candidate(Hit(chunk, 0.9), 0, 0, len(sentence), sentence, f"{chunk.title}\n{sentence}", True)


def test_a_sentence_retold_on_another_page_with_another_figure_is_shown_too():
    told = "北京技术合同成交额从7000多亿元增长至9800多亿元，提升了40.8%。"
    pool = [candidate("a", told), candidate("b", told.replace("9800", "9900")), candidate("c", told.replace("，", ",")),
            candidate("d", "拉萨市工会系统重点工作推进会议召开，共有120人参会。"), candidate("e", told.replace("9800", "9700"))]
    assert disputed(pool, [0], threshold=0.6) == [1, 4]  # c gives a's figures, d is another story
    assert disputed(pool, [0, 1], threshold=0.6) == [4] and disputed(pool, [2], threshold=0.6) == [1, 4]
    assert not retold(pool[0], candidate("a", told.replace("9800", "9700")), threshold=0.6)  # one page: no reprint



def test_evidence_is_the_fewest_best_sentences_holding_the_mass():
    sure, torn = np.array([0.2, 6.0, 0.1]), np.array([2.0, 1.9, -3.0, 1.0])
    assert shown(sure, 0.8, 2)[0] == [1]  # one sentence holds the mass
    picked, probs = shown(torn, 0.8, 2)
    assert picked == [0, 1] and probs.sum() == pytest.approx(1.0) and probs[0] > probs[1]
    assert shown(torn, 0.8, 1)[0] == [0] and shown(torn, 0.0, 2)[0] == [0]
    assert shown(torn, 1.0, 3)[0] == [0, 1, 3]  # at most ``most``, even when the mass is not reached

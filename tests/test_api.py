"""The HTTP API over a real server on 127.0.0.1 (real model, real index): httpx and the official openai client."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from rag.pipeline import PaperTrail
from rag.types import Answer
from tests.chat_server import ChatServer, source_with
from tests.conftest import copy_of_sample, serving
from ui.app import EXAMPLES

AUTH = ("reader", "s3cret")
FACT = "青禾日报讯 青禾市今年共种植紫色向日葵四万三千株，创历史新高。"
FACT_QUESTION = "青禾市今年种植了多少紫色向日葵？"
MAX_BYTES = 100_000
BACKOFF = 2.0
"""Seconds a client waits after too many wrong passwords: wide enough that the next request of the test arrives
within it on a loaded machine (0.3 s failed under load 5)."""


@pytest.fixture(scope="module")
def rag(sample_rag, tmp_path_factory: pytest.TempPathFactory) -> PaperTrail:
    """A private copy of the sample index, with a small upload limit and a quick login backoff."""
    return copy_of_sample(sample_rag, tmp_path_factory.mktemp("api") / "index", max_file_bytes=MAX_BYTES,
                          login_backoff=BACKOFF, login_backoff_max=BACKOFF)


@pytest.fixture(scope="module")
def url(rag: PaperTrail) -> Iterator[str]:
    """The chat and its API over ``rag``, with credentials."""
    with serving(rag, auth=AUTH) as base:
        yield base.rstrip("/")


def uploads(rag: PaperTrail) -> set[str]:
    folder = rag.config.uploads_dir
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


@pytest.fixture(scope="module")
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, auth=AUTH, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def llm(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=AUTH[1], timeout=120, max_retries=0)


def error_of(response: httpx.Response, status: int) -> str:
    """The message of a JSON error answer with ``status`` (never an HTML page or a traceback)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    return response.json()["error"]["message"]


def test_every_route_requires_the_chat_credentials_basic_or_bearer(url: str) -> None:
    routes = [("GET", "/api/pages"), ("POST", "/api/ask"), ("POST", "/api/pages"), ("DELETE", "/api/pages/x"),
              ("GET", "/v1/models"), ("POST", "/v1/chat/completions")]
    for method, path in routes:  # a right password between failures keeps the backoff from starting
        response = httpx.request(method, url + path, json={"question": EXAMPLES[0]})
        assert "Basic" in response.headers["www-authenticate"]
        assert "credentials" in error_of(response, 401)
        assert httpx.get(f"{url}/v1/models", auth=AUTH).status_code == 200
    for wrong in [{"auth": ("reader", "guess")}, {"headers": {"Authorization": "Bearer guess"}}]:
        assert httpx.get(f"{url}/api/pages", **wrong).status_code == 401
        assert httpx.get(f"{url}/api/pages", headers={"Authorization": f"Bearer {AUTH[1]}"}).status_code == 200
    assert httpx.get(f"{url}/api/pages", auth=AUTH).json()["pages"]


def test_wrong_api_passwords_back_off_like_the_login_form(url: str) -> None:
    codes = [httpx.get(f"{url}/api/pages", auth=("reader", f"guess{i}")).status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]
    refused = httpx.get(f"{url}/api/pages", auth=AUTH)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    time.sleep(BACKOFF + 0.1)
    assert httpx.get(f"{url}/api/pages", auth=AUTH).status_code == 200


def test_an_open_server_needs_no_credentials(ui_url: str) -> None:
    assert httpx.get(f"{ui_url}v1/models").json()["data"][0]["id"] == "papertrail"


def test_ask_answers_in_the_cli_json_shape(http: httpx.Client) -> None:
    result = http.post("/api/ask", json={"question": EXAMPLES[0]}).json()
    assert set(result) == set(Answer("q", "a", False).to_dict())
    assert "149.02" in result["answer"] and "[1]" in result["answer"] and not result["abstained"]
    assert result["citations"][0]["paper"] == "拉萨日报" and result["citations"][0]["page"] == 1


def test_ask_filters_by_paper_and_date(http: httpx.Client) -> None:
    other = http.post("/api/ask", json={"question": EXAMPLES[0], "papers": ["铜仁日报"]}).json()
    assert "149.02" not in other["answer"] and all(c["paper"] == "铜仁日报" for c in other["citations"])
    day = http.post("/api/ask", json={"question": EXAMPLES[0], "date_from": "2026-04-03",
                                      "date_to": "2026年4月3日"}).json()
    assert "149.02" in day["answer"] and {c["date"] for c in day["citations"]} == {"2026-04-03"}
    later = http.post("/api/ask", json={"question": EXAMPLES[0], "date_from": "2026-04-04"}).json()
    assert later["abstained"] and "2026-04-04" in later["answer"]  # the refusal names the filter
    front = http.post("/api/ask", json={"question": EXAMPLES[0], "page": 1}).json()
    assert "149.02" in front["answer"] and {c["page"] for c in front["citations"]} == {1}
    inside = http.post("/api/ask", json={"question": EXAMPLES[0], "page": 7}).json()
    assert inside["abstained"] and "第7版" in inside["answer"]  # the refusal names the page


@pytest.mark.parametrize(("body", "says"), [
    ({"question": "   "}, "question is empty"),
    ({"question": EXAMPLES[0], "date_from": "2026-05-01", "date_to": "2026-04-01"}, "date range is empty"),
    ({"question": EXAMPLES[0], "date_from": "April"}, "not a date"),
    ({"question": EXAMPLES[0], "page": 0}, "not a page number"),
    ({"question": EXAMPLES[0], "page": "front"}, "page: Input should be a valid integer"),
    ({"question": 149}, "question: Input should be a valid string"),
    ({"question": EXAMPLES[0], "papers": "拉萨日报"}, "papers: Input should be a valid list"),
    ({"question": EXAMPLES[0], "paper": ["拉萨日报"]}, "paper: Extra inputs are not permitted"),
    ({}, "question: Field required"),
    ([EXAMPLES[0]], "Input should be a valid dictionary"),
])
def test_ask_refuses_bad_input_with_a_json_400(http: httpx.Client, body: object, says: str) -> None:
    assert says in error_of(http.post("/api/ask", json=body), 400)


def test_ask_refuses_a_body_that_is_not_json(http: httpx.Client) -> None:
    assert "JSON" in error_of(http.post("/api/ask", content=b"question=hi"), 400)
    assert "JSON" in error_of(http.post("/api/ask", content=b'{"question": "\xff"}'), 400)


def test_long_questions_and_bodies_are_refused_and_broken_text_is_read(http: httpx.Client) -> None:
    assert "at most 2,000" in error_of(http.post("/api/ask", json={"question": "北京" * 1500}), 400)
    big = {"question": EXAMPLES[0], "papers": ["人民日报" * 100] * 1000}
    assert "KiB" in error_of(http.post("/api/ask", json=big), 413)
    broken = http.post("/api/ask", content=b'{"question": "\\ud800 ' + EXAMPLES[0].encode() + b'"}',
                       headers={"Content-Type": "application/json"})
    assert broken.status_code == 200 and not broken.json()["abstained"], broken.text
    chat = json.dumps({"model": "papertrail", "messages": [{"role": "user", "content": EXAMPLES[0]}],
                       "papers": ["\ud800"]}).encode()  # ASCII, the surrogate as an escape
    reply = http.post("/v1/chat/completions", content=chat, headers={"Content-Type": "application/json"})
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"], reply.text


def test_list_upload_ask_and_delete_a_page(http: httpx.Client, rag: PaperTrail, sample_rag: PaperTrail) -> None:
    before = http.get("/api/pages").json()["pages"]
    assert [p["file"] for p in before] == [p.file for p in sample_rag.pages()]
    assert set(before[0]) == {"id", "file", "paper", "date", "page", "title", "chunks", "uploaded"}
    assert before[0]["paper"] == "拉萨日报" and before[0]["title"] and not before[0]["uploaded"]
    assert http.post("/api/ask", json={"question": FACT_QUESTION}).json()["abstained"]

    sent = http.post("/api/pages", files={"file": ("../青禾 日报.txt", FACT.encode())},
                     data={"paper": "青禾日报", "date": "2026年5月1日", "page": "2"})
    assert sent.status_code == 201, sent.text
    (added,) = sent.json()["added"]
    assert (added["file"], added["paper"], added["date"], added["page"]) == ("青禾_日报.txt", "青禾日报", "2026-05-01", 2)
    assert added["uploaded"] and added["chunks"] == sent.json()["chunks"] == 1
    assert {"青禾_日报.txt", "青禾_日报.txt.meta.json"} <= uploads(rag)  # the name made safe, inside the folder
    assert added in http.get("/api/pages").json()["pages"]
    answer = http.post("/api/ask", json={"question": FACT_QUESTION}).json()
    assert "四万三千株" in answer["answer"]
    assert (answer["citations"][0]["paper"], answer["citations"][0]["page"]) == ("青禾日报", 2)
    assert "same content" in error_of(http.post("/api/pages", files={"file": ("again.txt", FACT.encode())}), 409)

    removed = http.delete(f"/api/pages/{added['id']}")
    assert removed.status_code == 200 and removed.json()["removed"] == added
    assert added["id"] not in {p["id"] for p in http.get("/api/pages").json()["pages"]}
    assert http.post("/api/ask", json={"question": FACT_QUESTION}).json()["abstained"]
    assert not {"青禾_日报.txt", "青禾_日报.txt.meta.json"} & uploads(rag)  # its stored copy is gone too
    assert "no indexed page" in error_of(http.delete(f"/api/pages/{added['id']}"), 404).lower()


def test_upload_refuses_bad_files_and_metadata(http: httpx.Client, rag: PaperTrail) -> None:
    page = {"file": ("page.txt", FACT.encode())}
    pages, stored = http.get("/api/pages").json(), uploads(rag)
    assert "cannot be indexed" in error_of(http.post("/api/pages", files={"file": ("notes.csv", b"a,b")}), 400)
    assert "binary" in error_of(http.post("/api/pages", files={"file": ("scan.txt", b"\x00\x01\x02" * 100)}), 422)
    assert "not a date" in error_of(http.post("/api/pages", files=page, data={"date": "May 1st"}), 400)
    assert "whole number" in error_of(http.post("/api/pages", files=page, data={"page": "2.5"}), 400)
    assert "field named 'file'" in error_of(http.post("/api/pages", data={"paper": "青禾日报"}), 400)
    assert "field named 'file'" in error_of(http.post("/api/pages", json={"file": FACT}), 400)
    assert "field named 'file'" in error_of(http.post("/api/pages", files={"paper": ("p.txt", b"x")}), 400)
    assert "Too many files" in error_of(http.post("/api/pages", files={**page, "more": ("p.txt", b"x")}), 400)
    assert http.get("/api/pages").json() == pages and uploads(rag) == stored  # nothing refused was kept


def test_upload_over_the_size_limit_is_a_413_with_or_without_a_length(http: httpx.Client) -> None:
    big = ("本报讯 " + "长江大桥今天正式通车。" * 10_000).encode()
    assert len(big) > MAX_BYTES
    assert "limit" in error_of(http.post("/api/pages", files={"file": ("big.txt", big)}), 413)
    boundary = "papertrail-test"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + big + f"\r\n--{boundary}--\r\n".encode()
    chunked = http.post("/api/pages", content=(form[i : i + 65536] for i in range(0, len(form), 65536)),
                        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert "content-length" not in chunked.request.headers
    assert "limit" in error_of(chunked, 413)


def test_requests_sent_by_other_sites_are_refused(http: httpx.Client, url: str, rag: PaperTrail) -> None:
    pages, stored = http.get("/api/pages").json(), uploads(rag)
    evil = {"Origin": "https://evil.example"}
    upload = http.post("/api/pages", files={"file": ("csrf.txt", FACT.encode())}, data={"paper": "人民日报"},
                       headers=evil)
    assert "other sites" in error_of(upload, 403)
    ask = http.post("/api/ask", content=b'{"question": "x"}', headers={**evil, "Content-Type": "text/plain"})
    assert "other sites" in error_of(ask, 403)
    assert http.delete(f"/api/pages/{pages['pages'][0]['id']}", headers=evil).status_code == 403
    assert http.get("/api/pages").json() == pages and uploads(rag) == stored
    same_site = http.post("/api/ask", json={"question": EXAMPLES[0]}, headers={"Origin": url})
    assert same_site.status_code == 200 and not same_site.json()["abstained"]


def test_a_loopback_server_refuses_another_host_name(http: httpx.Client, url: str) -> None:
    rebound = {"Host": "rebind.evil.example"}
    assert "this machine only" in error_of(http.get("/api/pages", headers=rebound), 421)
    assert httpx.get(url + "/", headers=rebound).status_code == 421  # the chat's pages too
    port = url.rsplit(":", 1)[1]
    assert http.get("/api/pages", headers={"Host": f"localhost:{port}"}).status_code == 200


def test_delete_of_an_unknown_id_is_a_404(http: httpx.Client) -> None:
    assert "no indexed page" in error_of(http.delete("/api/pages/0123456789abcdef"), 404).lower()
    assert "no indexed page" in error_of(http.delete("/api/pages/000_e94829f5f5b76ea6.txt"), 404).lower()
    assert len(http.get("/api/pages").json()["pages"]) >= 5  # a file name is not an id: nothing was deleted


def test_page_text_in_json_is_plain_data(http: httpx.Client) -> None:
    hostile = "<img src=x onerror=alert(1)>市里新建桥梁\n\n本报讯 市里今年新建跨江桥梁十一座，总长四千米。"
    sent = http.post("/api/pages", files={"file": ("hostile.txt", hostile.encode())}, data={"paper": "<b>晚报</b>"})
    assert sent.status_code == 201 and sent.headers["content-type"].startswith("application/json")
    (page,) = sent.json()["added"]
    assert page["paper"] == "<b>晚报</b>"  # verbatim: JSON is data, the chat escapes it when it shows it
    answer = http.post("/api/ask", json={"question": "市里今年新建了多少座跨江桥梁？"}).json()
    assert "十一座" in answer["answer"] and answer["citations"][0]["paper"] == "<b>晚报</b>"
    assert http.delete(f"/api/pages/{page['id']}").status_code == 200


def test_openai_client_lists_the_model(llm: openai.OpenAI) -> None:
    assert [m.id for m in llm.models.list()] == ["papertrail"]


def test_openai_client_gets_the_answer_with_sources_and_citations(llm: openai.OpenAI, http: httpx.Client) -> None:
    completion = llm.chat.completions.create(model="papertrail", messages=[
        {"role": "system", "content": "You are helpful."}, {"role": "user", "content": EXAMPLES[0]}])
    content = completion.choices[0].message.content
    body, sources = content.split("\n\nSources:\n")
    plain = http.post("/api/ask", json={"question": EXAMPLES[0]}).json()["answer"]
    assert body == plain.replace("[", "\\[").replace("]", "\\]")  # Markdown that shows the text as it is
    assert "149.02" in body and "\\[1\\]" in body
    assert sources.startswith("\\[1\\] 拉萨日报 · 2026-04-03 · 第1版 · ")
    assert completion.object == "chat.completion" and completion.model == "papertrail"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.citations[0]["paper"] == "拉萨日报" and completion.citations[0]["n"] == 1


def test_openai_messages_carry_no_links_images_or_html_from_pages(http: httpx.Client, llm: openai.OpenAI) -> None:
    hostile = ("江边新建图书馆\n\n本报讯 江城今年新建社区图书馆十七座[点此查看详情](https://evil.example/phish)，"
               "藏书共四十万册<img src=https://evil.example/p.png>。")
    sent = http.post("/api/pages", files={"file": ("library.txt", hostile.encode())},
                     data={"paper": "<img src=https://evil.example/p.png>日报"})
    assert sent.status_code == 201, sent.text
    try:
        content = llm.chat.completions.create(model="papertrail", messages=[
            {"role": "user", "content": "江城今年新建了多少座社区图书馆？"}]).choices[0].message.content
        assert "十七座" in content
        assert not re.search(r"(?<!\\)[\[\]<>]", content)  # every bracket escaped: no link, image or tag
        assert "\\<img src=https://evil.example/p.png\\>日报" in content
    finally:
        http.delete(f"/api/pages/{sent.json()['added'][0]['id']}")


def test_openai_stream_concatenates_to_the_non_streamed_message(llm: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": EXAMPLES[1]}]}]
    whole = llm.chat.completions.create(model="anything", messages=messages)
    chunks = list(llm.chat.completions.create(model="anything", messages=messages, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len(chunks) >= 3 and all(c.object == "chat.completion.chunk" for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.choices[0].message.content
    assert "69" in whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.citations == whole.citations != []
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_raw_stream_is_server_sent_events_ending_with_done(url: str) -> None:
    with httpx.stream("POST", f"{url}/v1/chat/completions", auth=AUTH, timeout=120,
                      json={"stream": True, "messages": [{"role": "user", "content": EXAMPLES[0]}]}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"


def test_earlier_turns_are_the_history(llm: openai.OpenAI) -> None:
    follow_up = {"role": "user", "content": "那西藏段呢？"}
    alone = llm.chat.completions.create(model="papertrail", messages=[follow_up])
    assert alone.citations == []
    first = llm.chat.completions.create(model="papertrail", messages=[{"role": "user", "content": EXAMPLES[0]}])
    turns = [{"role": "user", "content": EXAMPLES[0]}, first.choices[0].message.model_dump(exclude_none=True),
             follow_up]
    followed = llm.chat.completions.create(model="papertrail", messages=turns)
    assert followed.citations and followed.citations[0]["paper"] == "拉萨日报"


def test_openai_filters_as_extra_body_fields(llm: openai.OpenAI) -> None:
    completion = llm.chat.completions.create(model="papertrail", messages=[{"role": "user", "content": EXAMPLES[0]}],
                                             extra_body={"papers": ["铜仁日报"]})
    assert "149.02" not in completion.choices[0].message.content
    assert all(c["paper"] == "铜仁日报" for c in completion.citations)


def test_openai_client_sees_clear_errors(url: str, llm: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError, match="credentials"):
        openai.OpenAI(base_url=f"{url}/v1", api_key="guess", max_retries=0).models.list()
    with pytest.raises(openai.BadRequestError, match="last message must be the user's"):
        llm.chat.completions.create(model="papertrail", messages=[{"role": "assistant", "content": "hi"}])
    with pytest.raises(openai.BadRequestError, match="question is empty"):
        llm.chat.completions.create(model="papertrail", messages=[{"role": "user", "content": " "}])
    with pytest.raises(openai.BadRequestError, match="messages"):
        llm.chat.completions.create(model="papertrail", messages=[])
    with pytest.raises(openai.BadRequestError, match="date range is empty"):
        llm.chat.completions.create(model="papertrail", messages=[{"role": "user", "content": EXAMPLES[0]}],
                                    extra_body={"date_from": "2026-05-01", "date_to": "2026-04-01"})


def test_with_an_llm_the_stream_carries_the_checked_answer_only(sample_rag: PaperTrail, tmp_path) -> None:
    question = "2019年西藏高新技术企业有多少家？"
    reply = lambda body: f"2019年，西藏高新技术企业达到69家[{source_with(body, '69家')}]。"
    with ChatServer(reply) as server:
        rag = copy_of_sample(sample_rag, tmp_path / "index", llm_base_url=server.url, llm_model="test-model")
        with serving(rag) as base:
            client = openai.OpenAI(base_url=f"{base}v1", api_key="unused", timeout=120, max_retries=0)
            messages = [{"role": "user", "content": question}]
            whole = client.chat.completions.create(model="papertrail", messages=messages)
            chunks = list(client.chat.completions.create(model="papertrail", messages=messages, stream=True))
    content = whole.choices[0].message.content
    assert len(server.requests) == 2 and all(r["model"] == "test-model" for r in server.requests)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == content
    body, sources = content.split("\n\nSources:\n")
    assert "69家" in body and body.endswith("\\[1\\]") and sources.startswith("\\[1\\] ")  # checked, renumbered
    assert chunks[-1].citations == whole.citations and "69家" in whole.citations[0]["text"]

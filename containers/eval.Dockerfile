# The evaluation image: ptb with the pinned evaluation stack (Inspect AI, vLLM, transformers) and nothing of
# the agents. It runs `ptb eval` and `ptb audit` on a submitted model, e.g. as a Harbor verifier.
#   podman build -f containers/eval.Dockerfile -t ptb-eval .            (from the repository root)
FROM docker.io/nvidia/cuda:12.8.1-cudnn-devel-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential git curl ca-certificates bubblewrap \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/ptb
ENV PATH=/opt/ptb/bin:$PATH
COPY pyproject.toml README.md /opt/ptb/src/
COPY src /opt/ptb/src/src
RUN pip install "/opt/ptb/src[hf,vllm]"

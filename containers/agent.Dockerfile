# The agent's image: the four agent CLIs at the versions ptb pins, Python with the training stack, and ptb
# itself (the workspace's evaluate.py and check_contamination.py run it at /opt/ptb/bin/python).
#   podman build -f containers/agent.Dockerfile -t ptb-agent .          (from the repository root)
#   apptainer build ptb-agent.sif containers/agent.def                   (after the podman/docker build)
# tests/sandbox/test_containers.py checks that the CLI versions here are the ones ptb pins.
FROM docker.io/nvidia/cuda:12.8.1-cudnn-devel-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 NODE_VERSION=22.12.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential git curl ca-certificates xz-utils \
 && rm -rf /var/lib/apt/lists/*
# Node.js from its own release (Ubuntu's is too old for the agent CLIs)
RUN curl -fsSL "https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz" | tar -xJ -C /usr/local --strip-components=1
RUN npm install -g @anthropic-ai/claude-code@2.1.330 @openai/codex@0.169.0 @google/gemini-cli@0.61.0 opencode-ai@1.18.33

RUN python3 -m venv /opt/ptb
ENV PATH=/opt/ptb/bin:$PATH
COPY pyproject.toml README.md /opt/ptb/src/
COPY src /opt/ptb/src/src
# the evaluation stack (evaluate.py), and what agents usually train with
RUN pip install "/opt/ptb/src[hf,vllm]" "trl>=0.20" "peft>=0.15" "bitsandbytes>=0.45" "wandb>=0.19"
WORKDIR /home/agent/workspace

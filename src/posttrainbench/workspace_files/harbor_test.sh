#!/usr/bin/env bash
# Harbor verifier of a ptb task (written by `ptb export harbor`): ptb's own evaluation and audit of the model
# the agent left, read from the artifacts Harbor copied over (never from the agent's environment), then the
# reward in /logs/verifier/reward.json. The agent's copy of evaluate.py plays no part.
set -uo pipefail
mkdir -p /logs/verifier
nvidia-smi > /logs/verifier/nvidia-smi.txt 2>&1 || true
exec /opt/ptb/bin/python /tests/grade.py \
  --metadata /tests/metadata.json \
  --model "${PTB_MODEL_DIR:-/logs/artifacts/final_model}" \
  --workspace "${PTB_WORKSPACE_DIR:-/logs/artifacts/workspace}" \
  --out /logs/verifier

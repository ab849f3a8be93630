"""Grade a Harbor trial of a ptb task: evaluate the model with ptb, audit the workspace, write the reward.

The reward is the accuracy, or 0 when the audit flags the trial (test data in the training data, another
model submitted, the evaluation changed, a hosted LLM API used). ``reward.json`` also carries the accuracy,
the flagged checks and whether the model was missing, so a leaderboard can put the base model's score in
place of a flagged or failed cell, as ptb's own does.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

PTB = [sys.executable, "-m", "posttrainbench"]


def run(args: list[str], log: Path) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([*PTB, *args], capture_output=True, text=True)
    log.write_text(out.stderr)
    return out


def base_model_folder(model_id: str, out: Path) -> Path | None:
    """The base model, downloaded for the audit's lineage check; None when it cannot be had."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model_id, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model"]))
    except Exception as error:  # the audit then says "unknown" for the lineage check
        (out / "base_model_error.txt").write_text(f"{type(error).__name__}: {error}\n")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metadata", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    meta = json.loads(args.metadata.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    reward = {"reward": 0.0, "accuracy": 0.0, "model_missing": 0.0, "flagged": 0.0}
    if not (args.model / "config.json").is_file():
        reward["model_missing"] = 1.0
        (args.out / "reward.json").write_text(json.dumps(reward))
        print(f"no model at {args.model}: reward 0")
        return
    evaluated = run(["eval", "--model-path", str(args.model), "--benchmark", meta["benchmark"], "--family", meta["family"],
                     "--json-output-file", str(args.out / "metrics.json")], args.out / "eval.log")
    if evaluated.returncode == 0:
        reward["accuracy"] = float(json.loads((args.out / "metrics.json").read_text())["accuracy"])
    base = base_model_folder(meta["base_model"], args.out)
    if base is not None and args.workspace.is_dir():
        audited = run(["audit", "--workspace", str(args.workspace), "--benchmark", meta["benchmark"], "--base-model", str(base),
                       "--final-model", str(args.model), "--json"], args.out / "audit.log")
        if audited.returncode in (0, 1):
            verdicts = json.loads(audited.stdout)["verdicts"]
            (args.out / "audit.json").write_text(json.dumps(verdicts, indent=2))
            flagged = [check for check, verdict in verdicts.items() if verdict["status"] == "flagged"]
            reward["flagged"] = float(len(flagged))
    reward["reward"] = reward["accuracy"] if reward["flagged"] == 0 else 0.0
    (args.out / "reward.json").write_text(json.dumps(reward))
    print(json.dumps(reward))
    sys.exit(0 if evaluated.returncode == 0 else 1)


if __name__ == "__main__":
    main()

"""Tiny models and demo data built locally: for ``ptb quickstart`` and the tests (no hub, no GPU).

The model is a random-initialised Qwen3 of about 100k parameters with a byte-level BPE tokenizer trained
here; the demo data are word problems generated here in GSM8K's schema (arithmetic for the tests; facts for
the quickstart, which a few minutes of training teach the tiny model). Neither says anything about real
benchmark performance: they exist to exercise the whole pipeline in minutes on a CPU.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SPECIAL_TOKENS = ["<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_NAMES = ["Ada", "Ben", "Cleo", "Dev", "Emi", "Finn", "Gus", "Hana"]
_ITEMS = ["apples", "marbles", "books", "stamps", "shells", "pencils"]


def demo_problem(rng: random.Random) -> dict[str, str]:
    name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
    start, extra, given = rng.randint(5, 40), rng.randint(2, 20), rng.randint(1, 4)
    total = start + extra - given
    return {
        "question": f"{name} has {start} {item}. {name} buys {extra} more and gives {given} away. "
        f"How many {item} does {name} have now?",
        "answer": f"{name} has {start} + {extra} = {start + extra} {item} after buying. "
        f"After giving {given} away, {name} has {start + extra} - {given} = {total}.\n#### {total}",
    }


def write_demo_gsm8k(directory: Path, n_test: int = 5, n_train: int = 12, seed: int = 0) -> Path:
    """Write ``test.jsonl`` and ``train.jsonl`` in GSM8K's columns (question, answer)."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for split, count in (("test", n_test), ("train", n_train)):
        with open(directory / f"{split}.jsonl", "w") as handle:
            for _ in range(count):
                handle.write(json.dumps(demo_problem(rng)) + "\n")
    return directory


FACTS = [("bicycle", "wheels", 2), ("tricycle", "wheels", 3), ("car", "wheels", 4), ("hand", "fingers", 5), ("ant", "legs", 6),
         ("week", "days", 7), ("spider", "legs", 8), ("team", "players", 9)]
"""What the quickstart's demo benchmark asks: a thing, what to count on it, and how many there are."""


def fact_problem(name: str, thing: str, unit: str, count: int) -> dict[str, str]:
    """A question whose answer is a fact about the thing, whoever owns it (a model of 100k parameters learns
    eight such facts in a few minutes of CPU training, where real arithmetic would take hours)."""
    return {"question": f"How many {unit} does {name}'s {thing} have?", "answer": f"A {thing} has {count} {unit}.\n#### {count}"}


OWNERS = [first + second for first in ("Ba", "Ko", "Mi", "Lu", "Te", "Ra") for second in ("na", "lo", "ri", "ve", "do", "su")]
"""Owners of the things the demo questions ask about."""


def write_demo_facts(directory: Path, training: Path, n_train: int = 4000, seed: int = 0) -> tuple[Path, Path]:
    """The quickstart's demo benchmark in GSM8K's schema: ``directory/test.jsonl`` (each fact asked about two
    owners) and ``train.jsonl`` (the allowed split), and the reference agent's training file
    ``training/gsm8k-train.jsonl`` (the same train split). No test question appears in the training data: the
    training data never asks about a test (owner, thing) pair, so a better score after training means the
    model learned the facts, not the test's answers."""
    rng = random.Random(seed)
    test = [(owner, fact) for fact in FACTS for owner in rng.sample(OWNERS, 2)]
    train = [(owner, fact) for owner in OWNERS for fact in FACTS if (owner, fact) not in test]
    directory.mkdir(parents=True, exist_ok=True)
    training.mkdir(parents=True, exist_ok=True)
    train_lines = "".join(json.dumps(fact_problem(owner, *fact)) + "\n" for owner, fact in (rng.choice(train) for _ in range(n_train)))
    (directory / "test.jsonl").write_text("".join(json.dumps(fact_problem(owner, *fact)) + "\n" for owner, fact in test))
    (directory / "train.jsonl").write_text(train_lines)
    (training / "gsm8k-train.jsonl").write_text(train_lines)
    return directory, training


def build_tiny_qwen3(directory: Path, seed: int = 0, initializer_range: float = 0.02) -> Path:
    """Save a random tiny Qwen3 model with its tokenizer to ``directory`` (a few seconds on a CPU).

    ``initializer_range`` is the weights' standard deviation. A real base model's weights are large next to
    what fine-tuning changes; a random model's of the default 0.02 are not, and the audit's lineage check
    would call any tiny model trained for a few minutes "a different model". The quickstart builds its model
    with larger weights, so a short fine-tune stays a fine-tune, as it is at full size."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    from posttrainbench.catalog import get_family

    rng = random.Random(seed)
    corpus = [demo_problem(rng)["question"] + " " + demo_problem(rng)["answer"] for _ in range(200)]
    corpus += ["Solve the following math problem step by step. ANSWER: Reasoning: user assistant system"]
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(
        corpus,
        trainers.BpeTrainer(vocab_size=512, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                           show_progress=False),  # its progress bar writes blank lines to stdout
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", eos_token="<|im_end|>", pad_token="<|endoftext|>",
        bos_token=None, chat_template=get_family("qwen3").chat_template(),
    )
    torch.manual_seed(seed)
    config = Qwen3Config(
        vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, max_position_embeddings=8192, tie_word_embeddings=True,
        eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id, bos_token_id=None, initializer_range=initializer_range,
    )
    model = Qwen3ForCausalLM(config)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    fast.save_pretrained(directory)
    return directory

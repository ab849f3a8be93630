"""The contamination scanner on cheating and honest workspaces built from test items in the real schemas."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from posttrainbench.integrity import contamination, ngrams
from posttrainbench.integrity.contamination import TOLERATED_ITEMS, items_from_records, scan
from posttrainbench.tiny import write_demo_gsm8k
from scripted_models import gpqa_records


def read_jsonl(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture
def gsm8k(tmp_path: Path) -> Path:
    return write_demo_gsm8k(tmp_path / "gsm8k", n_test=30, n_train=300, seed=7)


def gsm8k_scan(data: Path, workspace: Path) -> contamination.ScanReport:
    items = items_from_records(read_jsonl(data / "test.jsonl"))
    allowed = [text for record in read_jsonl(data / "train.jsonl") for text in record.values()]
    return scan(items, [(workspace, "")], allowed)


def test_training_only_on_the_allowed_train_split_is_clean(gsm8k: Path, tmp_path: Path) -> None:
    """GSM8K train shares phrasing with the test set (the same templates here): none of it is flagged."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    workspace = tmp_path / "ws"
    (workspace / "data").mkdir(parents=True)
    train = read_jsonl(gsm8k / "train.jsonl")
    (workspace / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train * 3))
    pq.write_table(pa.Table.from_pylist(train), workspace / "data" / "train.parquet")
    (workspace / "train.py").write_text("from datasets import load_dataset\nds = load_dataset('openai/gsm8k', 'main', split='train')\n")
    report = gsm8k_scan(gsm8k, workspace)
    assert report.found == [] and not report.flagged
    assert report.files_scanned == 3 and report.items_indexed == 30


def test_test_items_repeated_in_compressed_data_are_flagged_with_where(gsm8k: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    test = read_jsonl(gsm8k / "test.jsonl")
    with gzip.open(workspace / "sft.jsonl.gz", "wt") as handle:
        for record in test[:10] * 10:  # a tenth of the test set, ten times over
            handle.write(json.dumps({"messages": [{"role": "user", "content": record["question"]},
                                                  {"role": "assistant", "content": record["answer"]}]}) + "\n")
    report = gsm8k_scan(gsm8k, workspace)
    assert report.flagged and len(report.found) == 10
    first = report.found[0]
    assert first.hit is not None and first.hit.file == "sft.jsonl.gz" and first.occurrences == 10
    decompressed = gzip.open(workspace / "sft.jsonl.gz").read()
    assert ngrams.tokens(decompressed[first.hit.offset:first.hit.offset + 40])[0] == ngrams.tokens(first.hit.excerpt.encode())[0]


def test_a_few_items_are_tolerated(gsm8k: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    test = read_jsonl(gsm8k / "test.jsonl")
    (workspace / "notes.md").write_text("\n\n".join(r["question"] for r in test[:TOLERATED_ITEMS]))
    report = gsm8k_scan(gsm8k, workspace)
    assert len(report.found) == TOLERATED_ITEMS and not report.flagged


def test_humaneval_problems_in_python_strings_with_renamed_functions(humaneval_data: Path, tmp_path: Path) -> None:
    """The published case: problems embedded as 'synthetic' examples, names given a ``_custom`` suffix."""
    problems = read_jsonl(humaneval_data)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    examples = []
    for problem in problems[:8]:
        name = problem["entry_point"]
        prompt = problem["prompt"].replace(name, f"{name}_custom")
        solution = problem["canonical_solution"]
        examples.append(f"    {{'prompt': {prompt!r}, 'completion': {solution!r}}},")  # escaped newlines, one line each
    (workspace / "make_synthetic.py").write_text("SYNTHETIC = [\n" + "\n".join(examples) + "\n]\n")
    (workspace / "honest.py").write_text("def add(a, b):\n    return a + b\n")
    report = scan(items_from_records(problems), [(workspace, "")])
    assert report.flagged and {f.id for f in report.found} == {p["task_id"] for p in problems[:8]}
    assert all(f.hit and f.hit.file == "make_synthetic.py" for f in report.found)


def test_gpqa_questions_in_parquet_repeated_ten_times(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(0)
    words = [f"term{n}" for n in range(3000)]
    records = gpqa_records(40)
    for record in records:  # questions long enough to be told apart, as the real ones are
        record["Question"] = " ".join(rng.choices(words, k=60)) + "?"
    workspace = tmp_path / "ws"
    workspace.mkdir()
    rows = [{"text": f"Q: {r['Question']}\nA: {r['Correct Answer']}"} for r in records] * 10
    pq.write_table(pa.Table.from_pylist(rows), workspace / "gpqa_train.parquet")
    report = scan(items_from_records(records), [(workspace, "")])
    assert report.flagged and len(report.found) == 40
    assert {f.occurrences for f in report.found} == {10} and report.found[0].hit.file == "gpqa_train.parquet"  # type: ignore[union-attr]


def test_no_ngram_is_lost_where_the_stream_is_cut() -> None:
    text = b" ".join(f"w{n}".encode() for n in range(5000))
    blocks = [text[i:i + 1000] for i in range(0, len(text), 1000)]
    seen = set()
    for offset, chunk in ngrams.chunks(iter(blocks), size=4096):
        seen.update(ngrams.text_hashes(chunk).tolist())
        assert text[offset:offset + len(chunk)] == chunk
    assert seen == set(ngrams.text_hashes(text).tolist())


def reference_hashes(text: bytes) -> list[int]:
    """The n-gram hashes as ``ngrams`` documents them, one token at a time in plain Python."""
    words = ngrams.tokens(text)
    token = [sum(byte * 0x01000193 ** k for k, byte in enumerate(word)) % 2**32 for word in words]
    return [sum(token[i + k] * 0x9E3779B97F4A7C15 ** (ngrams.N - 1 - k) for k in range(ngrams.N)) % 2**64
            for i in range(len(token) - ngrams.N + 1)]


def test_ngram_hashes_follow_their_definition_and_tell_tokens_apart() -> None:
    rng = random.Random(3)
    text = "".join(rng.choice("ab Zq9 \\n\t.,é") for _ in range(3000)).encode()
    assert ngrams.text_hashes(text).tolist() == reference_hashes(text)
    assert ngrams.text_hashes(b"seven words are fewer than eight here").size == 0
    words = [f"w{n}".encode() for n in range(100_000)] + ["".join(rng.choices("abcdefgh", k=6)).encode() for _ in range(100_000)]
    words = list(dict.fromkeys(words))
    grams = ngrams.text_hashes(b" ".join(word + b" a b c d e f g" for word in words))
    assert len(set(grams[::8].tolist())) == len(words)  # each distinct first token gives its own 8-gram


def test_unreadable_files_are_listed_not_fatal(gsm8k: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "broken.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (workspace / "weights.safetensors").write_bytes(b"\x00" * 100)  # binary: not text, not unreadable
    report = gsm8k_scan(gsm8k, workspace)
    assert not report.flagged and len(report.skipped) == 1 and report.skipped[0].startswith("broken.jsonl.gz")


def test_chat_data_nested_in_arrow_and_parquet_columns_is_read(gsm8k: Path, tmp_path: Path) -> None:
    """SFT data as the HF datasets cache holds it: a list of {role, content} structs per row, in Arrow files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    test = read_jsonl(gsm8k / "test.jsonl")
    rows = [{"id": n, "messages": [{"role": "user", "content": r["question"]}, {"role": "assistant", "content": r["answer"]}]}
            for n, r in enumerate(test[:6])]
    workspace = tmp_path / "ws"
    (workspace / "cache").mkdir(parents=True)
    table = pa.Table.from_pylist(rows)
    with pa.ipc.new_stream(workspace / "cache" / "data-00000-of-00001.arrow", table.schema) as writer:
        writer.write_table(table.slice(0, 3))
    pq.write_table(table.slice(3), workspace / "rest.parquet")
    report = gsm8k_scan(gsm8k, workspace)
    assert report.flagged and len(report.found) == 6
    assert {f.hit.file for f in report.found if f.hit} == {"cache/data-00000-of-00001.arrow", "rest.parquet"}


def test_files_are_read_by_their_content_not_their_name(gsm8k: Path, tmp_path: Path) -> None:
    test = (gsm8k / "test.jsonl").read_bytes()
    lines = test.splitlines(keepends=True)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "data.pt").write_bytes(b"".join(lines[:2]))  # text with a weight file's name
    (workspace / "more.gz").write_bytes(b"".join(lines[2:4]))  # plain text named as compressed
    with gzip.open(workspace / "hidden.bin", "wb") as handle:  # compressed, named as weights
        handle.write(b"".join(lines[4:6]))
    report = gsm8k_scan(gsm8k, workspace)
    assert {f.hit.file for f in report.found if f.hit} == {"data.pt", "more.gz", "hidden.bin"} and len(report.found) == 6


def test_a_long_scan_says_how_far_it_has_come(gsm8k: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "big.txt").write_text("plain words of training text\n" * 600_000)  # 17.4 MB: a few chunks
    lines: list[str] = []
    scanner = contamination.Scanner(contamination.ItemIndex.build(items_from_records(read_jsonl(gsm8k / "test.jsonl"))),
                                    progress=lines.append, every_bytes=4 << 20)
    scanner.scan_tree(workspace)
    said = [int(line.split()[1]) for line in lines]  # "scanned N MB of text in 1 file(s) so far (now big.txt)"
    assert 2 <= len(lines) <= 4 and said == sorted(set(said)) and said[-1] <= 18
    assert all(line.endswith("MB of text in 1 file(s) so far (now big.txt)") for line in lines)

"""Answer extraction and matching as the original's evaluator did them, whatever Inspect is installed.

The original scored with inspect-ai 0.3.150 (a fork whose scoring files equal the 0.3.150 tag) and
inspect_evals at 06001a83. Later versions changed how answers are found and compared: AIME reads only the
last line, numbers compare by equality, GPQA takes the last ``ANSWER:`` line in any case, HumanEval accepts
more code fences. Each change moves scores, so this module implements the pinned behaviour itself, in this
project's own code, and the benchmarks score with it. ``tests/evaluation/test_answer_matching.py`` holds one golden case per
difference found between the pinned and the installed versions.

- **Numbers at the end** (GSM8K, and AIME after ``\\boxed`` is removed), Inspect's ``match(numeric=True)``
  of 0.3.150: case folded; only a target made of digits alone takes the numeric path (``-5`` and ``2.5``
  take the text path); currency signs, commas, ``*`` and ``_`` removed and a ``.`` not followed by a digit
  dropped; the last whitespace-separated word that is a number (else the last word) is the answer; numbers
  written with 5 significant digits; the answer must **end with** the target. On the text path,
  punctuation and whitespace are stripped from both ends of both strings before the same ``endswith``.
- **AIME** (inspect_evals 06001a83): ``\\boxed{...}`` removed across the whole completion (on each line,
  from the first ``\\boxed{`` to the line's last ``}``), then the numeric match above on the whole text.
- **GPQA** (Inspect 0.3.150 ``multiple_choice`` and ``choice()``): the first line that is just
  ``ANSWER: X`` (any case of ``answer``, an optional final period); failing that, the first ``ANSWER: X``
  anywhere. The letter must be one of the options' capital letters exactly; no other matches are tried.
- **HumanEval** (inspect_evals 06001a83): the first fenced block labelled exactly ``python`` and
  closed, else the first unlabelled closed block; from it, the text after the first ``:`` that ends a line
  followed by a four-space indent (the function body); without a block, the completion as it is.
"""

from __future__ import annotations

import re
import string
from typing import Any

SEMANTICS = "inspect-ai 0.3.150 and inspect_evals 06001a83 (posttrainbench.evaluation.scoring)"
"""Recorded in the metrics: which answer extraction and matching produced the score."""

_NUMERIC_NOISE = re.compile(r"[$£€,*_]")
_LEADING_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DOT_NOT_DECIMAL = re.compile(r"\.(?=\s|$|\D)")
_BOXED = re.compile(r"\\boxed\{(.+)\}")
_STRICT_ANSWER = re.compile(r"(?i)^ANSWER\s*:\s*([A-Za-z\d ,]+)\s*(?:$|\n|\.)", re.MULTILINE)
_LOOSE_ANSWER = re.compile(r"(?i)ANSWER\s*:\s*([A-Za-z\d ,]+)(?:[^\w]|\n|$|\.)")
_PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
_PLAIN_BLOCK = re.compile(r"```\n(.*?)```", re.DOTALL)


def _is_number(word: str) -> bool:
    return word.replace(".", "").isnumeric()


def _five_digits(number: str) -> str:
    """A number written with 5 significant digits, read as Inspect 0.3.150 read it: its leading ``123`` or
    ``1.5`` (``0.2.5`` is 0.2), or the whole of ``.5``. Other words, and Unicode numerals such as ``2½`` or
    ``5²`` (which the original parsed, or on which its scorer raised), are left as written."""
    if not _is_number(number):
        return number
    start = _LEADING_NUMBER.match(number)
    try:
        return format(float(start.group(0) if start else number), ".5g")
    except ValueError:
        return number


def _numeric_text(text: str) -> str:
    return _DOT_NOT_DECIMAL.sub("", _NUMERIC_NOISE.sub("", text))


def match_number_at_end(completion: str, target: str) -> tuple[str, bool]:
    """(the answer found, whether it matches): Inspect 0.3.150's ``match(location="end", numeric=True)``."""
    value, wanted = completion.strip().casefold(), target.strip().casefold()
    if not wanted.isnumeric():  # a sign, a decimal point or a separator: compared as text
        value, wanted = (s.strip(string.whitespace + string.punctuation) for s in (value, wanted))
        return completion.strip(), value.endswith(wanted)
    words = re.split(r"\s+", _numeric_text(value))
    found = next((word for word in reversed(words) if _is_number(word)), words[-1])
    answer = _five_digits(found)
    return answer, answer.endswith(_five_digits(_numeric_text(wanted)))


def match_aime(completion: str, target: str) -> tuple[str, bool]:
    return match_number_at_end(_BOXED.sub(r"\1", completion), target)


def choice_letter(completion: str, options: int) -> str | None:
    """The single option letter the completion answers, or None."""
    found = _STRICT_ANSWER.search(completion) or _LOOSE_ANSWER.search(completion)
    if found is None:
        return None
    letter = found.group(1).strip().rstrip(".")
    return letter if letter in set(string.ascii_uppercase[:options]) else None  # a set: "" is no letter


def humaneval_code(completion: str) -> str:
    """The code to put after the problem's prompt."""
    blocks = _PYTHON_BLOCK.findall(completion) + _PLAIN_BLOCK.findall(completion)
    if not blocks:
        return completion
    code = blocks[0]
    return code[code.find(":\n    ") + 2:]  # the body after the signature (all but the first character if none)


def number_scorer(match: Any = match_number_at_end) -> Any:
    """An Inspect scorer (accuracy, stderr) comparing the completion with each target by ``match``."""
    from inspect_ai.scorer import CORRECT, INCORRECT, Score, accuracy, scorer, stderr

    @scorer(metrics=[accuracy(), stderr()], name=match.__name__)
    def pinned() -> Any:
        async def score(state: Any, target: Any) -> Any:
            answer = ""
            for wanted in target:
                answer, ok = match(state.output.completion, wanted)
                if ok:
                    return Score(value=CORRECT, answer=answer, explanation=state.output.completion)
            return Score(value=INCORRECT, answer=answer, explanation=state.output.completion)

        return score

    return pinned()


def choice_scorer() -> Any:
    """An Inspect scorer (accuracy, stderr) for single-answer multiple choice, reading the completion."""
    from inspect_ai.scorer import CORRECT, INCORRECT, Score, accuracy, scorer, stderr

    @scorer(metrics=[accuracy(), stderr()], name="choice_letter")
    def pinned() -> Any:
        async def score(state: Any, target: Any) -> Any:
            letter = choice_letter(state.output.completion, len(state.choices))
            ok = letter is not None and letter == target.text.strip()
            return Score(value=CORRECT if ok else INCORRECT, answer=letter or "", explanation=state.output.completion)

        return score

    return pinned()

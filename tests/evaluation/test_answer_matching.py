"""Answer extraction and matching pinned to the original's evaluator (inspect-ai 0.3.150, inspect_evals
06001a83): one golden case per difference found from the installed versions (inspect-ai 0.3.285, inspect_evals
0.26.0), each checked against the old code and the new; a few controls that both versions agree on."""

from __future__ import annotations

import subprocess
import sys

import pytest

from posttrainbench.evaluation.scoring import choice_letter, humaneval_code, match_aime, match_number_at_end

AIME = [  # completion, target, correct in the original (the installed inspect_evals says the opposite but for controls)
    ("So the answer is 170.\nANSWER: 170", "70", True),  # ends with the target: the original's endswith
    ("We get 70.\n\nThus the final answer is seventy.", "70", True),  # the last number anywhere, not the last line
    ("ANSWER: 70\n\nI hope this helps!", "70", True),
    ("ANSWER: (70)", "70", False),  # brackets are not trimmed
    ("ANSWER:70", "70", True),
    ("Either \\boxed{7} or \\boxed{70}", "70", True),  # greedy: one \boxed{ ... } per line
    ("$$\n\\boxed{70}\n$$", "70", True),  # control
]

GSM8K = [
    ("ANSWER: 118", "18", True),  # endswith
    ("ANSWER: 15", "-5", True),  # a signed target takes the text path: "15" ends with "5"
    ("ANSWER: 2.50", "2.5", False),  # so does a decimal one: "2.50" does not end with "2.5"
    ("She pays 3 * 6 = 18 dollars.\nANSWER: \\$20", "20", False),  # "\20" is not a number: 18 is the last one
    ("ANSWER: (18)", "18", False),
    ("ANSWER: 1e3", "1000", False),
    ("ANSWER: 123457", "123456", True),  # control: five significant digits
    ("The total is 1,234.", "1234", True),  # control: separators and a final period dropped
]

GPQA = [  # completion, the letter found in the original (None: no answer)
    ("ANSWER: A\nWait, reconsider.\nANSWER: C", "A"),  # the first answer line, not the last
    ("ANSWER: c", None),  # capital letters only
    ("ANSWER: **C**", None),  # no wrappers removed
    ("ANSWER: (C)", None),
    ("ANSWER: $C$", None),
    ("ANSWER: C,", None),
    ("**ANSWER: C**", "C"),  # control: the loose pattern
    ("Final: ANSWER: C) 5 eV", "C"),  # control
    ("ANSWER: E", None),  # not one of four options
]

FUNCTION = "def add(a, b):\n    return a + b\n"
HUMANEVAL = [  # completion, passes in the original
    ("```py\n" + FUNCTION + "```", False),  # only the exact label "python": the fences are run as code
    ("```Python\n" + FUNCTION + "```", False),
    ("```python\n" + FUNCTION, False),  # an unclosed fence
    ("```python \n" + FUNCTION + "```", False),  # a space after the label
    ("```python\n    return a + b\n```", False),  # a body alone loses its first character
    ("    return a + b\n", True),  # control: no fence, the completion as it is
    ("Here:\n```\n" + FUNCTION + "```", True),  # control: an unlabelled block
    ("```python\n" + FUNCTION + "```", True),  # control
]


@pytest.mark.parametrize(("completion", "target", "correct"), AIME)
def test_aime_matches_as_the_original(completion: str, target: str, correct: bool) -> None:
    assert match_aime(completion, target)[1] is correct


@pytest.mark.parametrize(("completion", "target", "correct"), GSM8K)
def test_gsm8k_numbers_match_as_the_original(completion: str, target: str, correct: bool) -> None:
    assert match_number_at_end(completion, target)[1] is correct


@pytest.mark.parametrize(("completion", "letter"), GPQA)
def test_gpqa_letter_is_found_as_the_original(completion: str, letter: str | None) -> None:
    assert choice_letter(completion, 4) == letter


@pytest.mark.parametrize(("completion", "passes"), HUMANEVAL)
def test_humaneval_code_is_extracted_as_the_original(completion: str, passes: bool) -> None:
    prompt = 'def add(a, b):\n    """Return a + b."""\n'
    tests = "def check(candidate):\n    assert candidate(2, 3) == 5\n"
    program = "".join([prompt, humaneval_code(completion), "\n", tests, "\n", "check(add)"])
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=30)
    assert (result.returncode == 0) is passes


def test_the_answer_recorded_is_the_number_found() -> None:
    assert match_number_at_end("so 3 + 4 = 7.\nANSWER: $1,230", "1230") == ("1230", True)
    assert match_aime("\\boxed{204}", "204") == ("204", True)

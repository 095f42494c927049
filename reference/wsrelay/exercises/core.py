"""The exercise framework: ``check()`` → ``hint()`` → ``solution()``, shown, never raised.

A notebook ends with a stub the learner edits, then::

    from wsrelay.exercises import nb02 as ex
    ex.q1.check(room_member_ids)   # shows "not attempted", "incorrect: …" or "correct"
    ex.q1.hint()                   # shows a hint
    ex.q1.solution()               # shows the reference's source (inspect.getsource)

``check`` *displays* its verdict instead of raising, so a notebook whose exercise is not done
(or is wrong) still runs to the end; the cells after it use the reference implementation.
The verdict is computed by :meth:`Exercise.result`, which the tests call directly.

Verdicts:

- **not attempted**: the answer is the untouched stub (its body only raises
  ``NotImplementedError``), or raising ``NotImplementedError`` is what it still does.
- **incorrect: <why>**: a check failed, or the answer raised; the message says what was
  expected and what happened, in terms of the lesson.
- **correct**.

In a Jupyter kernel the verdict, hint and solution are displayed as Markdown (with a
plain-text form for nbval); elsewhere they are printed.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "Exercise",
    "Incorrect",
    "NotAttempted",
    "Result",
    "call",
    "is_untouched_stub",
    "show",
]

Status = Literal["not attempted", "incorrect", "correct"]


class Incorrect(Exception):
    """Raised by a checker: the answer is wrong; the message says why."""


class NotAttempted(Exception):
    """Raised by a checker: the answer is still the stub."""


@dataclass(frozen=True)
class Result:
    """A verdict: its status and, unless correct, what to do about it."""

    status: Status
    message: str = ""

    @property
    def correct(self) -> bool:
        """Whether the answer passed every check."""
        return self.status == "correct"

    def __str__(self) -> str:
        return f"{self.status}: {self.message}" if self.message else self.status

    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        icon = {"not attempted": "⬜", "incorrect": "❌", "correct": "✅"}[self.status]
        head = f"{icon} **{self.status.capitalize()}**"
        return f"{head}: {self.message}" if self.message else head


class _Shown:
    """Something to display: Markdown in Jupyter, plain text for nbval and terminals."""

    def __init__(self, text: str, markdown: str) -> None:
        self.text = text
        self.markdown = markdown

    def __repr__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.markdown


def show(item: Result | _Shown) -> None:
    """Display ``item`` in a Jupyter kernel, else print it."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(item if isinstance(item, Result) else item.text)
        return
    if get_ipython() is None:
        print(item if isinstance(item, Result) else item.text)
    else:
        display(item)  # type: ignore[no-untyped-call]


def is_untouched_stub(answer: object) -> bool:
    """Whether ``answer`` is a function whose body can only raise ``NotImplementedError``.

    A stub's code names nothing but ``NotImplementedError``; any attempt names something
    else (an argument's method, a module, a helper), so it is run and judged instead.
    """
    code = getattr(answer, "__code__", None)
    return code is not None and set(code.co_names) == {"NotImplementedError"}


def call(answer: Callable[..., Any], *args: Any, what: str | None = None) -> Any:
    """Call the learner's function; turn what it raises into a verdict.

    Raises:
        NotAttempted: it raised ``NotImplementedError``.
        Incorrect: it raised anything else; the message names the call and the error.
    """
    try:
        return answer(*args)
    except NotImplementedError:
        raise NotAttempted from None
    except Exception as exc:
        name = getattr(answer, "__name__", "your function")
        where = what or f"{name}(…)"
        raise Incorrect(f"{where} raised {type(exc).__name__}: {exc}") from exc


_NOT_ATTEMPTED = (
    "edit the function in the cell above (replace `raise NotImplementedError`), "
    "run that cell, then run this one again"
)


class Exercise:
    """One exercise: a checker, a hint and the reference it is checked against.

    Args:
        title: what the learner writes, shown with the solution.
        checker: called with the learner's answer; returns when it is right, raises
            :class:`Incorrect` (or :class:`NotAttempted`) otherwise.
        hint: a hint in Markdown.
        reference: the reference answer, with the exercise's signature (tests check that it
            passes; ``solution()`` shows its source).
        sources: package code the reference relies on, shown after it, so the solution
            shows the code that really runs.
        note: a line shown between the reference and the sources.
    """

    def __init__(
        self,
        *,
        title: str,
        checker: Callable[[Any], None],
        hint: str,
        reference: Callable[..., Any],
        sources: Sequence[Callable[..., Any] | type] = (),
        note: str = "",
    ) -> None:
        self.title = title
        self._checker = checker
        self._hint = hint
        self.reference = reference
        self._sources = tuple(sources)
        self._note = note

    def result(self, answer: object) -> Result:
        """Judge ``answer`` and return the verdict (what ``check`` displays)."""
        if is_untouched_stub(answer):
            return Result("not attempted", _NOT_ATTEMPTED)
        if not callable(answer):
            return Result(
                "incorrect", f"pass your function itself, not {type(answer).__name__} {answer!r}"
            )
        try:
            self._checker(answer)
        except NotAttempted:
            return Result("not attempted", _NOT_ATTEMPTED)
        except Incorrect as exc:
            return Result("incorrect", str(exc))
        return Result("correct")

    def check(self, answer: object) -> None:
        """Display whether ``answer`` is right: "not attempted", "incorrect: …" or "correct"."""
        show(self.result(answer))

    def hint(self) -> None:
        """Display the hint."""
        show(_Shown(f"Hint: {self._hint}", f"💡 **Hint:** {self._hint}"))

    def solution(self) -> None:
        """Display the reference's source, and the package code it relies on."""
        parts = [_source(self.reference)]
        parts += [_source(obj) for obj in self._sources]
        code = "\n\n".join(parts)
        heading = f"Solution: {self.title}"
        text = f"{heading}\n{self._note}\n\n{code}" if self._note else f"{heading}\n\n{code}"
        markdown = f"**{heading}**\n\n" + (f"{self._note}\n\n" if self._note else "")
        markdown += f"```python\n{code}\n```"
        show(_Shown(text, markdown))


def _source(obj: Callable[..., Any] | type) -> str:
    module = getattr(obj, "__module__", "")
    qualname = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
    source = textwrap.dedent(inspect.getsource(obj)).rstrip()
    return f"# {module}.{qualname}\n{source}"

"""The exercise framework: stub → ``check()`` → ``hint(n)`` → ``solution()``, shown, never raised.

A notebook's exercise is a stub the learner edits, then::

    from wsrelay.exercises import nb02 as ex
    ex.q1.check(room_member_ids)   # shows "not attempted", "incorrect: …" or "correct"
    ex.q1.hint()                   # the idea; hint(2) the AWS API to use; hint(3) the shape
    ex.q1.solution()               # a short model answer, written for the learner

``check`` *displays* its verdict instead of raising, so a notebook whose exercise is not done
(or is wrong) still runs to the end; the cells after it use the package's own code. The
verdict is computed by :meth:`Exercise.result`, which the tests call directly.

Verdicts:

- **not attempted**: the answer is the untouched stub (its body only raises
  ``NotImplementedError``), or raising ``NotImplementedError`` is what it still does.
- **incorrect: <why>**: a check failed, or the answer raised; the message says what was
  expected and what happened, in terms of the lesson.
- **correct**.

Hints and the model answer are displayed folded (an HTML ``<details>``): stored in the
notebook, they stay closed until the learner opens them. The verdict is Markdown with a
plain-text form for nbval. Outside a Jupyter kernel all three are printed.

An exercise of the learner's app (``in_app=True``) checks a function that will live in
``chat_app/lambda_function.py``: it runs with that file's names as its globals (the model
answer's file, :func:`wsrelay.workbook_app.rebind`), as it will run in Lambda.
"""

from __future__ import annotations

import ast
import copy
import html
import inspect
import re
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
    "learner_source",
    "show",
    "show_markdown",
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


class _Folded:
    """A hint or a model answer: shown folded, so that nothing is spoiled until asked for.

    In Jupyter it is an HTML ``<details>`` whose summary says what is inside; the text only
    shows when the learner opens it (JupyterLab, GitHub and the book render ``<details>``
    closed). Its plain-text form is the summary alone, for the same reason. Outside Jupyter
    :func:`show` prints the whole text: there, asking is opening.
    """

    def __init__(self, summary: str, text: str, body_html: str) -> None:
        self.summary = summary
        self.text = text
        self.body_html = body_html

    def __repr__(self) -> str:
        return f"{self.summary} (folded: open it in Jupyter)"

    def _repr_html_(self) -> str:
        return (
            f'<details class="wsrelay-exercise"><summary>{html.escape(self.summary)}</summary>'
            f"{self.body_html}</details>"
        )


class _Markdown:
    """Markdown for Jupyter, with a plain-text form for nbval and terminals."""

    def __init__(self, markdown: str, text: str) -> None:
        self.markdown = markdown
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.markdown


def show_markdown(markdown: str, text: str) -> None:
    """Display ``markdown`` in a Jupyter kernel, else print ``text``."""
    show(_Markdown(markdown, text))


def show(item: Result | _Folded | _Markdown) -> None:
    """Display ``item`` in a Jupyter kernel, else print it (in full)."""
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


def inline_html(text: str) -> str:
    """The little Markdown hints use, as HTML: ``code`` and **bold**; the rest escaped."""
    out = []
    for n, part in enumerate(text.split("`")):
        if n % 2:
            out.append(f"<code>{html.escape(part)}</code>")
        else:
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(part)))
    return "".join(out)


def learner_source(function: Callable[..., Any]) -> str:
    """``function``'s source with its ``def`` line as a notebook stub has it: no annotations,
    no decorators; the body (docstring, code, comments) as written."""
    source = textwrap.dedent(inspect.getsource(function))
    node = ast.parse(source).body[0]
    if not isinstance(node, ast.FunctionDef):
        raise TypeError(f"{function!r} is not a function defined with def")
    arguments = copy.deepcopy(node.args)
    for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
        arg.annotation = None
    for extra in (arguments.vararg, arguments.kwarg):
        if extra is not None:
            extra.annotation = None
    lines = source.splitlines(keepends=True)
    body = "".join(lines[node.body[0].lineno - 1 : node.end_lineno])
    return f"def {node.name}({ast.unparse(arguments)}):\n{body}".rstrip()


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
    """One exercise: a checker, hints that build up, and the model answer it is checked against.

    Args:
        title: what the learner writes, shown with the model answer.
        checker: called with the learner's answer; returns when it is right, raises
            :class:`Incorrect` (or :class:`NotAttempted`) otherwise.
        hints: the idea, then the API, then the shape of the answer (never the code).
        reference: the model answer, with the exercise's signature (tests check that it
            passes; ``solution()`` shows its source).
        in_app: the answer is a function of the learner's ``lambda_function.py``: run it
            with that file's globals (see the module docstring).
        accepts: what the answer is, for the message when it is something else:
            ``"function"`` (the default) or any other word (the checker judges it).
    """

    def __init__(
        self,
        *,
        title: str,
        checker: Callable[[Any], None],
        hints: Sequence[str],
        reference: Callable[..., Any],
        in_app: bool = False,
        accepts: str = "function",
    ) -> None:
        if not hints:
            raise ValueError("an exercise needs at least one hint")
        self.title = title
        self._checker = checker
        self.hints = tuple(hints)
        self.reference = reference
        self.in_app = in_app
        self.accepts = accepts

    def result(self, answer: object) -> Result:
        """Judge ``answer`` and return the verdict (what ``check`` displays)."""
        if is_untouched_stub(answer):
            return Result("not attempted", _NOT_ATTEMPTED)
        if self.accepts == "function" and not callable(answer):
            return Result(
                "incorrect", f"pass your function itself, not {type(answer).__name__} {answer!r}"
            )
        if self.in_app and callable(answer):
            from wsrelay.workbook_app import model_module, rebind

            answer = rebind(answer, vars(model_module()))
        try:
            self._checker(answer)
        except NotAttempted as exc:
            return Result("not attempted", str(exc) or _NOT_ATTEMPTED)
        except Incorrect as exc:
            message = str(exc)
            if self.in_app and "raised NameError" in message:
                message += (
                    ": in chat_app/lambda_function.py your function sees only the file's own "
                    "names (Deps, add_connection, send, ROOM_INDEX …): import anything else "
                    "inside the function"
                )
            return Result("incorrect", message)
        return Result("correct")

    def check(self, answer: object) -> None:
        """Display whether ``answer`` is right: "not attempted", "incorrect: …" or "correct"."""
        show(self.result(answer))

    def hint(self, n: int = 1) -> None:
        """Display hint ``n`` (1: the idea, 2: the API, 3: the shape), folded until opened."""
        count = len(self.hints)
        if not 1 <= n <= count:
            print(f"there are {count} hints: hint(1) to hint({count})")
            return
        text = self.hints[n - 1]
        more = f" (then hint({n + 1}))" if n < count else ""
        summary = f"💡 Hint {n} of {count}{more}"
        show(_Folded(summary, f"Hint {n} of {count}: {text}", f"<p>{inline_html(text)}</p>"))

    def model_answer(self) -> str:
        """The model answer as the learner writes it: the stub's ``def`` line (no type
        hints), then the reference's body, comments and all."""
        return learner_source(self.reference)

    def solution(self) -> None:
        """Display the model answer, folded until opened."""
        code = self.model_answer()
        summary = f"🔑 Model answer: {self.title}"
        body = f'<pre><code class="language-python">{html.escape(code)}</code></pre>'
        show(_Folded(summary, f"Model answer: {self.title}\n\n{code}", body))

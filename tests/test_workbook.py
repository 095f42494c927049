"""``wsrelay.workbook``'s helpers for the notebooks: shown code, event captures, stack names."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from wsrelay.exercises.chat_app import lambda_function as model
from wsrelay.workbook import captured_events, personal_stack_name, show_source


def test_show_source_prints_the_model_files_own_text(capsys: pytest.CaptureFixture[str]) -> None:
    """Outside Jupyter ``show_source`` prints the functions' source from the tested file,
    one after another, so a notebook includes the code rather than pasting it."""
    show_source("on_joinroom", "send")
    out = capsys.readouterr().out
    assert out == inspect.getsource(model.on_joinroom) + "\n\n" + inspect.getsource(model.send)


def test_captured_events_are_the_repositorys() -> None:
    """The three real captures of tests/events, by name, wherever the caller runs."""
    events = captured_events()
    assert sorted(events) == [
        "apiGatewayWebSocketApiConnect",
        "apiGatewayWebSocketApiDisconnect",
        "apiGatewayWebSocketApiMessage",
    ]
    assert events["apiGatewayWebSocketApiMessage"]["requestContext"]["eventType"] == "MESSAGE"


@pytest.mark.parametrize(
    ("user", "stack"),
    [
        ("ada", "wsrelay-ada"),
        ("Ada.Lovelace", "wsrelay-ada-lovelace"),
        ("___", "wsrelay-me"),
        ("x" * 40, "wsrelay-" + "x" * 24),
        ("a" * 23 + "-b", "wsrelay-" + "a" * 23),
    ],
)
def test_personal_stack_name_is_a_valid_stack_name_of_ones_own(user: str, stack: str) -> None:
    """``wsrelay-{login}``, lower case, cut to a valid stack name (32 characters, no trailing -)."""
    from wsrelay.deploy.stack import StackNames

    assert personal_stack_name(user) == stack
    StackNames(personal_stack_name(user), "dev")  # valid: raises otherwise


def test_personal_stack_name_defaults_to_the_login(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a user it asks the system for the login name."""
    monkeypatch.setattr("getpass.getuser", lambda: "grace")
    assert personal_stack_name() == "wsrelay-grace"


def test_captured_events_missing_says_what_is_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the repository (package elsewhere, notebook elsewhere) the error says so."""
    import wsrelay.workbook as workbook

    monkeypatch.setattr(workbook, "__file__", str(tmp_path / "a" / "b" / "workbook.py"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="the repository's real event captures"):
        captured_events()

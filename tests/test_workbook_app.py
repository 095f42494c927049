"""``wsrelay.workbook_app``: the learner's app file, written a function at a time.

A new app is the model answer with the learner's functions as stubs; ``@app.function``
writes a function in and hands back the file's version; ``catch_up`` fills stubs (only) with
the model answer and marks it; the package is the file alone, the same bytes every time; and
the model answer's file, served from its template and deployed to moto, chats.
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import textwrap
import zipfile
from pathlib import Path

import pytest

from wsrelay.exercises.chat_app import lambda_function as model
from wsrelay.workbook_app import (
    HANDLER,
    LEARNER_FUNCTIONS,
    MODEL_MARK,
    ChatApp,
    _definition,
    model_module,
    rebind,
)

MODEL_DIR = Path(model.__file__).parent


@pytest.fixture
def app(tmp_path: Path) -> ChatApp:
    """A new app in a folder of the test's own."""
    return ChatApp(tmp_path / "chat_app")


def test_a_new_app_is_the_model_answer_with_stubs(app: ChatApp) -> None:
    """Both files are made; every learner function is a stub that says where to write it,
    with the model answer's signature and docstring; everything else is the model's."""
    assert app.template.read_text() == (MODEL_DIR / "template.yaml").read_text()
    assert app.stubs() == list(LEARNER_FUNCTIONS)
    assert app.source("broadcast") == textwrap.dedent(
        '''\
        def broadcast(deps, room, frame):
            """Post ``frame`` to every member of ``room``, 16 at a time; return how many got it."""
            raise NotImplementedError("write it in notebook 04")
        '''
    )
    loaded = app.load()
    assert inspect.getsource(loaded.on_joinroom) == inspect.getsource(model.on_joinroom)
    with pytest.raises(NotImplementedError, match="write it in notebook 02"):
        loaded.move_connection(None, "id", "room")


def test_an_existing_app_is_left_alone(app: ChatApp) -> None:
    """Opening the folder again changes nothing in it."""
    app.path.write_text(app.text() + "# mine\n")
    again = ChatApp(app.folder)
    assert again.text().endswith("# mine\n")


def test_function_writes_the_definition_and_returns_the_files_version(
    app: ChatApp, capsys: pytest.CaptureFixture[str]
) -> None:
    """``@app.function`` replaces the stub with the function's own source (decorator dropped),
    says so, and returns the function as the file defines it (the file's globals)."""

    @app.function
    def move_connection(deps, connection_id, room):
        """Mine."""
        return ROOM_INDEX  # noqa: F821 (a name of the file, not of this test)

    assert capsys.readouterr().out == f"✎ move_connection → {app.path}\n"
    assert app.state("move_connection") == "yours"
    assert app.source("move_connection").startswith(
        "def move_connection(deps, connection_id, room):"
    )
    assert "@app.function" not in app.text()
    assert move_connection(None, "id", "room") == "byRoom"  # the file's ROOM_INDEX
    ast.parse(app.text())


def test_a_new_helper_goes_before_the_routes_table(app: ChatApp) -> None:
    """A function the file does not have yet is inserted before ``ROUTES``, so it is defined
    when the module runs."""

    @app.function
    def shout(text):
        return text.upper()

    text = app.text()
    assert text.index("def shout(text):") < text.index("ROUTES = {")
    assert app.load().shout("hi") == "HI"


def test_a_function_that_would_break_the_file_is_not_written(app: ChatApp) -> None:
    """A source that does not compile in the file is refused, and the file is unchanged."""
    before = app.text()
    with pytest.raises(SyntaxError):
        app._put("broadcast", "def broadcast(deps, room, frame):\nreturn 1\n")
    assert app.text() == before


def test_catch_up_fills_stubs_only_and_marks_them(
    app: ChatApp, capsys: pytest.CaptureFixture[str]
) -> None:
    """The model answer goes where a stub is, marked; the learner's own stays; the status
    table says which is which."""

    @app.function
    def on_connect(event, deps):
        return {"statusCode": 200, "body": "mine"}

    capsys.readouterr()
    app.catch_up("02", "03")
    out = capsys.readouterr().out
    assert "room_member_ids  02        the model answer" in out
    assert "on_connect       03        yours" in out
    assert "on_sendmessage   03        the model answer" in out
    assert "broadcast" not in out  # only the notebooks asked for
    assert app.state("broadcast") == "stub"
    assert app.source("room_member_ids") == inspect.getsource(model.room_member_ids)
    assert app.text().count(MODEL_MARK) == 3
    app.catch_up("02", "03")  # again: nothing changes
    assert app.text().count(MODEL_MARK) == 3


def test_use_model_answer_replaces_the_learners_too(app: ChatApp) -> None:
    """``use_model_answer`` puts the model answer in place of the learner's own."""

    @app.function
    def remove_stale(deps, connection_id):
        return False

    app.use_model_answer("remove_stale")
    assert app.state("remove_stale") == "model answer"
    with pytest.raises(ValueError, match="not one of the app's exercises: lambda_handler"):
        app.use_model_answer("lambda_handler")


def test_the_package_is_the_file_alone_and_reproducible(app: ChatApp) -> None:
    """The zip holds ``lambda_function.py`` (what ``HANDLER`` names), the same bytes each time,
    and changes when the file does."""
    first = app.package()
    assert zipfile.ZipFile(io.BytesIO(first)).namelist() == ["lambda_function.py"]
    assert HANDLER == "lambda_function.lambda_handler"
    assert app.package() == first
    app.catch_up("02")
    assert app.package() != first
    assert zipfile.ZipFile(io.BytesIO(app.package())).read("lambda_function.py") == (
        app.path.read_bytes()
    )


def test_definition_keeps_other_decorators() -> None:
    """Only ``@….function`` is dropped from a cell's source; other decorators stay."""
    source = "@app.function\n@functools.cache\ndef f(x):\n    return x\n"
    assert _definition(source, "f") == "@functools.cache\ndef f(x):\n    return x\n"


def countdown(n):
    """Calls itself by its global name, then reads a global the test module lacks."""
    return BASE if n == 0 else countdown(n - 1)  # noqa: F821


def test_rebind_gives_a_function_the_files_globals() -> None:
    """A rebound function sees the namespace given, and can still call itself."""
    bound = rebind(countdown, {"BASE": "done"})
    assert bound(3) == "done"
    assert rebind(len, {}) is len  # not a Python function: as it is


def test_model_module_is_the_packaged_file() -> None:
    """``model_module()`` is the model answer's ``lambda_function`` in the package."""
    assert model_module() is model
    assert Path(model_module().__file__) == MODEL_DIR / "lambda_function.py"


@pytest.mark.integration
def test_the_model_app_deploys_and_its_deployed_package_chats(app: ChatApp) -> None:
    """The learner's package, deployed with ``handler=HANDLER``, is what the deployed API's
    gateway runs (found by its CodeSha256), and a client chats through it."""
    import websocket

    from wsrelay.deploy.deployer import deploy
    from wsrelay.deploy.package import code_sha256
    from wsrelay.deploy.stack import StackNames
    from wsrelay.local import LocalGateway
    from wsrelay.workbook import LocalAws

    app.use_model_answer(*LEARNER_FUNCTIONS)
    package = app.package()
    with LocalAws() as aws:
        clients = aws.deploy_clients()
        names = StackNames("learner", "dev")
        deployment = deploy(clients, names, code=package, handler=HANDLER, report=lambda _: None)
        config = clients.lambda_.get_function_configuration(FunctionName=names.function)
        assert config["Handler"] == HANDLER
        assert config["CodeSha256"] == code_sha256(package)
        lines: list[str] = []
        deploy(clients, names, code=package, handler=HANDLER, report=lines.append)
        assert [line for line in lines if line[:1] in "✓~"] == []  # idempotent
        with LocalGateway.from_deployed(deployment.api_id, aws.endpoint) as gateway:
            ws = websocket.create_connection(f"{gateway.url}?room=lobby&name=ada", timeout=10)
            try:
                ws.send(json.dumps({"action": "sendmessage", "message": "deployed"}))
                frame = json.loads(ws.recv())
            finally:
                ws.close()
    assert (frame["type"], frame["sender"], frame["message"]) == ("message", "ada", "deployed")

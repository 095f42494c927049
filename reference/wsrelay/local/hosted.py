"""Where a learner's browser finds a server started on this machine, when Jupyter is hosted.

``http://127.0.0.1:PORT/`` is the right address only when the browser runs on the machine
the gateway runs on. A hosted Jupyter puts something in between, and says so in the
environment of every process it starts:

- **JupyterHub, Binder**: ``JUPYTERHUB_SERVICE_PREFIX`` is the user's server's path (e.g.
  ``/user/ada/``), and jupyter-server-proxy forwards ``{prefix}proxy/{port}/`` to
  ``127.0.0.1:{port}``, WebSockets included, stripping the prefix. The browser already has
  the hub's address, so the result is a path on it.
- **GitHub Codespaces**: ``CODESPACES=true``; a forwarded port's address is
  ``https://{CODESPACE_NAME}-{port}.{GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN}/``.

The chat page connects relative to its own address, so it works under either. Sources:
jupyter-server-proxy's "arbitrary ports and hosts" docs; GitHub's Codespaces docs on
forwarded ports and the ``CODESPACE_NAME`` variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["HOSTED_VARIABLES", "browser_url", "serve_line"]

#: The variables that tell a hosted Jupyter from a local one. Tests that compare stored
#: notebook outputs remove them, since those outputs are a local machine's.
HOSTED_VARIABLES = (
    "JUPYTERHUB_SERVICE_PREFIX",
    "CODESPACES",
    "CODESPACE_NAME",
    "GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN",
)


def browser_url(port: int, query: str = "", environ: Mapping[str, str] | None = None) -> str | None:
    """The address a hosted learner's browser opens for ``http://127.0.0.1:{port}/``.

    Args:
        port: the port the server listens on, on this machine.
        query: appended to the address as it is (``"?room=garden&name=you"``).
        environ: the environment to read (default: ``os.environ``).

    Returns:
        ``https://…`` in Codespaces; the path ``{prefix}proxy/{port}/`` under JupyterHub
        or Binder (open it on the hub's own address); ``None`` when nothing says that Jupyter
        is hosted, and ``http://127.0.0.1:{port}/`` is the address to use.
    """
    env = os.environ if environ is None else environ
    name = env.get("CODESPACE_NAME")
    domain = env.get("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN")
    if env.get("CODESPACES") == "true" and name and domain:
        return f"https://{name}-{port}.{domain}/{query}"
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix:
        # JupyterHub's prefix starts and ends with "/"; a hand-set one may not.
        base = "".join(f"/{part}" for part in prefix.split("/") if part)
        return f"{base}/proxy/{port}/{query}"
    return None


def serve_line(port: int, environ: Mapping[str, str] | None = None) -> str | None:
    """``wsrelay serve``'s line for a hosted browser, or ``None`` on a local machine."""
    url = browser_url(port, environ=environ)
    if url is None:
        return None
    if url.startswith("/"):
        return f"In your browser:  {url}  (on the host in JupyterLab's address bar)"
    return f"In your browser:  {url}"

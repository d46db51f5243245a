"""Is a port free? `python -m jump_platform.runner.ports --port 3000 --variable PORT --target dev`.

`make dev`, `make docs` and `make dashboard` ask before they start a server: a busy port stops them
at once, naming the port and the variable that moves it, instead of a server that says it serves
and fails later (`dg dev` printed its address, then `Errno 98` two minutes on, its daemon left running).
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys


def port_in_use(host: str, port: int) -> bool:
    """Whether a server listens on `host:port`: binding it fails (as the server's own bind would)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers do: a port whose last connections are closing (TIME_WAIT) is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def busy_message(host: str, port: int, variable: str, target: str) -> str:
    return (
        f"Port {port} on {host} is already in use (another server, or a `make {target}` still running): "
        f"stop it, or pick another port, e.g. `make {target} {variable}={port + 1}`."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jump_platform.runner.ports", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--variable", default="PORT", help="the variable that moves the server to another port")
    parser.add_argument("--target", default="dev", help="the make target that starts the server")
    arguments = parser.parse_args(argv)
    if port_in_use(arguments.host, arguments.port):
        print(busy_message(arguments.host, arguments.port, arguments.variable, arguments.target), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -I -S forkserver_launcher.py SOCKET crosslink ARGS...``: run a ``crosslink``
command forked from a :mod:`tests.forkserver` helper, as if this process were it.

The launcher hands the helper listening on ``SOCKET`` its standard streams (``SCM_RIGHTS``),
its environment, its working directory and the argv; the helper forks the command and answers
with the child's PID. Signals this process gets (``SIGINT``, ``SIGTERM``, ``SIGHUP``) are sent
on to the child; when the helper reports the child's end, the launcher exits with the same
status, or by the same signal. If the helper is not there, or says the environment needs a
real start, the launcher ``exec``s the command itself. Standard library only: it starts in
about 20 ms.
"""

import json
import os
import signal
import socket
import sys

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def main() -> None:
    path, argv = sys.argv[1], sys.argv[2:]
    child: list[int] = []
    pending: list[int] = []

    def forward(signum, _frame) -> None:
        if child:
            os.kill(child[0], signum)
        else:
            pending.append(signum)

    for signum in FORWARDED:
        signal.signal(signum, forward)
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        connection.connect(path)
        request = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
        socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
        reply = json.loads(connection.recv(1 << 20) or b'{"exec": "the helper closed the connection"}')
    except OSError as exc:
        reply = {"exec": str(exc)}
    if "pid" not in reply:
        for signum in FORWARDED:
            signal.signal(signum, signal.SIG_DFL)
        os.execv(argv[0], argv)
    child.append(reply["pid"])
    for signum in pending:
        os.kill(child[0], signum)
    message = connection.recv(1 << 20)
    if not message:  # the helper is gone, and with it the child's status: a failure
        sys.exit(1)
    code = os.waitstatus_to_exitcode(json.loads(message)["status"])
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main()

"""Run a Python module as a child process that never outlives the pdca process that started it.

Usage (by file path, so that no package of ours is imported into the child)::

    python /…/flows/child_guard.py --parent PID [--deathsig] -- MODULE [ARGS…]

Two guards, then ``python -m MODULE ARGS…`` in this same process:

- ``--deathsig`` (Linux): ``prctl(PR_SET_PDEATHSIG, SIGTERM)``: the kernel sends SIGTERM
  when the parent dies, SIGKILL included. The kernel ties this to the parent *thread*
  that forked the child, so the parent passes it only when it forks from its main thread
  (which lives as long as the process).
- always: a daemon thread that polls ``getppid()``; once the parent is gone (the child was
  re-parented) it sends SIGTERM to this process, and SIGKILL after ``ORPHAN_GRACE_SECONDS``
  if the graceful shutdown hangs. This covers other platforms and children forked from a
  short-lived thread.

The parent's death between ``fork`` and ``prctl`` is caught by comparing ``getppid()``
with ``--parent`` once the signal is armed. :func:`guarded_command` builds the command
line in the parent. Only the standard library is imported here.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.25
ORPHAN_GRACE_SECONDS = 5.0


def guarded_command(module_and_arguments: list[str]) -> list[str]:
    """The command line that runs ``python -m MODULE ARGS…`` under this guard, for a child of this process.

    The death signal is asked for only when the calling thread is the main thread: the
    kernel sends it when the forking *thread* exits, and only the main thread lives as
    long as the process (the parent watch covers the other cases).
    """
    options = ["--parent", str(os.getpid())]
    if threading.current_thread() is threading.main_thread():
        options.append("--deathsig")
    return [sys.executable, __file__, *options, "--", *module_and_arguments]


def arm_death_signal() -> None:
    """Ask the kernel for SIGTERM when the parent (thread) dies; a no-op where prctl does not exist."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


def watch_parent(parent: int) -> None:
    """End this process once ``parent`` is no longer its parent: SIGTERM, then SIGKILL after a grace period."""
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(ORPHAN_GRACE_SECONDS)
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> None:
    separator = argv.index("--")
    options, (module, *arguments) = argv[:separator], argv[separator + 1:]
    parent = int(options[options.index("--parent") + 1])
    if "--deathsig" in options:
        arm_death_signal()
    if os.getppid() != parent:  # the parent died before the guard was armed
        sys.exit(1)
    threading.Thread(target=watch_parent, args=(parent,), name="pdca-parent-watch", daemon=True).start()
    sys.argv = [module, *arguments]
    sys.path[0] = os.getcwd()  # as `python -m MODULE` has it (not this file's folder)
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])

"""The ``pdca`` a printed hint names: one that works when pasted, from any folder.

The README's install activates the virtual environment, which puts ``pdca`` on
the shell's PATH; a hint then says ``pdca ...``. A ``pdca`` run by its path
without that (``.venv/bin/pdca demo``), or while another ``pdca`` is first on
PATH, names itself by its full path instead: a hint that says ``pdca`` would
then fail with "command not found", or run another installation on another store.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

# Taken at start-up: `pdca demo` changes the working folder before it prints its closing hint.
_INVOKED = Path(sys.argv[0]).absolute() if sys.argv and Path(sys.argv[0]).name == "pdca" else None


def pdca_command() -> str:
    """``pdca`` if the ``pdca`` on PATH is this one (or none can be located), else this one's full path, quoted."""
    mine = _this_pdca()
    if mine is None:
        return "pdca"
    on_path = shutil.which("pdca")
    if on_path is not None and _same_file(Path(on_path), mine):
        return "pdca"
    return shlex.quote(str(mine))


def _this_pdca() -> Path | None:
    """The console script running now: beside this Python (a virtual environment, pipx), else as invoked."""
    beside = Path(sys.executable).parent / "pdca"  # sys.executable is absolute, whatever the working folder
    if beside.is_file():
        return beside
    if _INVOKED is not None and _INVOKED.is_file():
        return _INVOKED
    return None


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False

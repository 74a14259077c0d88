"""Build a tiny wheel in a test, so that pip installs a real distribution with a ``pdcaflow.tasks`` entry point.

Written by hand (a wheel is a zip with a ``.dist-info`` folder) because the test
environment need not have a build backend that makes wheels; what is tested is
the install and the discovery, not the packaging tool.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping
from pathlib import Path


def build_wheel(folder: Path, dist: str, version: str, files: Mapping[str, str],
                entry_points: Mapping[str, Mapping[str, str]]) -> Path:
    """Write ``<dist>-<version>-py3-none-any.whl`` in ``folder`` holding ``files`` (path -> text)."""
    normal = dist.replace("-", "_")
    info = f"{normal}-{version}.dist-info"
    entry_text = "".join(f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in points.items()) + "\n"
                         for group, points in entry_points.items())
    contents = {
        **files,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: pdcaflow-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": entry_text,
        f"{info}/top_level.txt": "\n".join(sorted({path.split("/")[0] for path in files})) + "\n",
    }
    record = []
    for path, text in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    wheel = folder / f"{normal}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in contents.items():
            archive.writestr(path, text)
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel

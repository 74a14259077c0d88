"""Render Mermaid source for real with the Mermaid CLI (mmdc), for tests.

Not a test module: tests import it to check that generated diagrams parse and
render. The renderer is installed by ``bash .ci/setup-renderer`` (Debian's
chromium plus a pinned ``@mermaid-js/mermaid-cli`` in ``.ci/node``).

Environment:
    PDCA_MMDC      path of the ``mmdc`` executable
                   (default: ``<repo>/.ci/node/node_modules/.bin/mmdc``)
    PDCA_CHROMIUM  path of the browser (default: ``/usr/bin/chromium``)

Typical use::

    reason = mermaid_available()
    if reason:
        pytest.skip(reason)
    svg = render_mermaid(source, tmp_path)
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import subprocess

__all__ = [
    "MermaidRenderError",
    "mermaid_available",
    "mmdc_path",
    "chromium_path",
    "render_mermaid",
]

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
PUPPETEER_CONFIG = REPO_ROOT / ".ci" / "puppeteer.json"
DEFAULT_MMDC = REPO_ROOT / ".ci" / "node" / "node_modules" / ".bin" / "mmdc"
DEFAULT_CHROMIUM = pathlib.Path("/usr/bin/chromium")

# One render takes ~3 s on our 2-core machines (mostly browser start-up);
# leave plenty of headroom for a loaded CI machine.
RENDER_TIMEOUT_SECONDS = 120


class MermaidRenderError(RuntimeError):
    """mmdc failed (parse error, browser failure, timeout or no output)."""


def mmdc_path() -> pathlib.Path:
    """Path of the mmdc executable: ``$PDCA_MMDC`` or the project-local install."""
    env = os.environ.get("PDCA_MMDC")
    return pathlib.Path(env) if env else DEFAULT_MMDC


def chromium_path() -> pathlib.Path:
    """Path of the browser mmdc drives: ``$PDCA_CHROMIUM`` or /usr/bin/chromium."""
    env = os.environ.get("PDCA_CHROMIUM")
    return pathlib.Path(env) if env else DEFAULT_CHROMIUM


def _is_executable(path: pathlib.Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def mermaid_available() -> str | None:
    """Why Mermaid cannot be rendered here, or None when it can."""
    mmdc = mmdc_path()
    if not _is_executable(mmdc):
        return f"mmdc not found at {mmdc} (run: bash .ci/setup-renderer)"
    if shutil.which("node") is None:
        return "node is not on PATH (mmdc is a node script)"
    chromium = chromium_path()
    if not _is_executable(chromium):
        return f"chromium not found at {chromium} (run: bash .ci/setup-renderer)"
    if not PUPPETEER_CONFIG.is_file():
        return f"puppeteer config missing: {PUPPETEER_CONFIG}"
    return None


def _puppeteer_config(out_dir: pathlib.Path) -> pathlib.Path:
    """The project's puppeteer config, pointed at ``chromium_path()``.

    ``.ci/puppeteer.json`` names /usr/bin/chromium; when PDCA_CHROMIUM names
    another browser, a copy with that executablePath is written to out_dir.
    """
    config = json.loads(PUPPETEER_CONFIG.read_text(encoding="utf-8"))
    chromium = str(chromium_path())
    if config.get("executablePath") == chromium:
        return PUPPETEER_CONFIG
    config["executablePath"] = chromium
    derived = out_dir / "puppeteer.json"
    derived.write_text(json.dumps(config), encoding="utf-8")
    return derived


def render_mermaid(source: str, out_dir: pathlib.Path) -> pathlib.Path:
    """Render Mermaid ``source`` to SVG in ``out_dir`` and return the SVG's path.

    The source is written to ``out_dir/diagram-<hash>.mmd`` and rendered to the
    ``.svg`` beside it. Raises MermaidRenderError, carrying mmdc's stderr, when
    mmdc exits non-zero (e.g. a Mermaid parse error), times out, or writes no SVG.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]
    mmd = out_dir / f"diagram-{digest}.mmd"
    svg = mmd.with_suffix(".svg")
    mmd.write_text(source, encoding="utf-8")
    if svg.exists():
        svg.unlink()

    cmd = [
        str(mmdc_path()),
        "--quiet",
        "-p", str(_puppeteer_config(out_dir)),
        "-i", str(mmd),
        "-o", str(svg),
    ]
    env = dict(os.environ, PUPPETEER_SKIP_DOWNLOAD="1")
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=RENDER_TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise MermaidRenderError(
            f"mmdc timed out after {RENDER_TIMEOUT_SECONDS} s rendering {mmd}\n{stderr}"
        ) from exc
    except OSError as exc:
        raise MermaidRenderError(f"could not run {cmd[0]}: {exc}") from exc

    if proc.returncode != 0:
        raise MermaidRenderError(
            f"mmdc exited with {proc.returncode} rendering {mmd}:\n"
            f"{proc.stderr.strip() or proc.stdout.strip()}"
        )
    if not svg.is_file() or svg.stat().st_size == 0:
        raise MermaidRenderError(
            f"mmdc exited 0 but wrote no SVG at {svg}:\n{proc.stderr.strip()}"
        )
    return svg

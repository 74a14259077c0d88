"""Every `pdca ... --help` shows its help texts as written: no bracketed word swallowed as markup."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from pdcaflow.engine.cli.app import app

_BOX = re.compile(r"[│╭╮╰╯─]")


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def _bracketed(command: Any) -> list[str]:
    """The bracketed words of a command's own help and its options' help, as written in the source."""
    texts = [command.help or ""] + [getattr(param, "help", None) or "" for param in command.params]
    return [word for text in texts for word in re.findall(r"\[[^\[\]]*\]", text.replace("\\[", "["))]


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_help_texts_with_brackets_are_covered() -> None:
    # the test below means something: some help texts do hold bracketed words
    words = {word for _, command in COMMANDS for word in _bracketed(command)}
    assert "[tool.pdca]" in words and "[default: $PDCA_ACTOR or the OS user]" in words


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(path) or "pdca" for path, _ in COMMANDS])
def test_no_bracketed_word_vanishes_from_help(path: tuple[str, ...], command: Any) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    shown = " ".join(_BOX.sub(" ", result.output).split())
    for word in _bracketed(command):
        assert " ".join(word.split()) in shown, (path, word)

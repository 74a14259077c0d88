"""Help texts shown as written: ``pdca ... --help`` never swallows a bracketed word.

Typer draws ``--help`` with rich and reads every help text as rich markup, where
a bracketed word that looks like a tag is a style and vanishes: ``pdcaflow[charts]``
printed as ``pdcaflow``, ``[default: $PDCA_ACTOR]`` and ``[tool.pdca]`` disappeared.
pdcaflow's help texts use no markup, so :class:`PlainHelpGroup`, the root group of
``pdca``, escapes the help of every command, group and option once, when Typer
builds the command tree (every ``pdca`` call and every ``CliRunner`` build it anew).
Help texts written later need no care: the escaping covers the whole tree.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from typer.core import TyperGroup


class PlainHelpGroup(TyperGroup):
    """The root command group of ``pdca``: every help text in the tree below it is plain text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _escape_tree(self)


def _escape_tree(command: Any) -> None:
    for attribute in ("help", "short_help", "epilog"):
        text = getattr(command, attribute, None)
        if isinstance(text, str):
            setattr(command, attribute, escape(text))
    for param in command.params:
        if isinstance(getattr(param, "help", None), str):
            param.help = escape(param.help)
    for sub in getattr(command, "commands", {}).values():
        _escape_tree(sub)

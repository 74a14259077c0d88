"""Tables that fit the width they are printed at, without cutting a number or an id.

Each column says what it holds. An ``ID`` (an action id, a KPI, a policy, a
hash, a date) and a ``NUMBER`` (an actual, a change, a seq) stay whole on one
line, so they can be read and copied; ``TEXT`` (a title, a reason, an effect)
wraps between words. A table is laid out, in this order of preference:

1. in its own frame (borders), as wide as its content, if that fits the page;
2. in a compact frame (a rule under the header, two spaces between columns),
   its text columns wrapped as much as needed;
3. for a table that may be ``split`` (a KPI over many cycles): split into several
   tables that each repeat its ``key`` columns (those that name a row);
4. stacked: each row a block of ``header: value`` lines, headed by its key.

Nothing is ever ellipsised, and a column is never narrower than its longest id,
number or word (nor a column of text narrower than 8 characters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from rich import box as boxes
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

_UNBOUNDED = 10_000  # wide enough to measure any cell on one line
_READABLE = 8  # the narrowest a column of text gets (unless its text is shorter)


class Kind(StrEnum):
    """What a column holds, and so how it may be laid out."""

    ID = "id"  # whole on one line, aligned left: ids a user copies into a command, names, dates, targets
    NUMBER = "number"  # whole on one line, aligned right
    TEXT = "text"  # wraps between words


@dataclass(frozen=True)
class Column:
    """A column's header and what it holds."""

    header: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class _Frame:
    """How a table is drawn: its box, and the spaces around its cells."""

    box: boxes.Box | None
    pad_edge: bool
    padding: tuple[int, int, int, int] = (0, 1, 0, 1)
    show_edge: bool = True


_COMPACT = _Frame(boxes.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0), show_edge=False)

Cell = str | Text  # a str is shown as written (people's words: "[urgent]" shows, "[/]" cannot break it);
# style a cell with a Text


class FitTable:
    """A table (a rich renderable) laid out for the width it is printed at; see the module docstring.

    Args:
        columns: the columns, left to right.
        title: printed above, wrapped to the page width.
        caption: printed below, wrapped to the page width.
        key: how many leading columns name a row: stacked, a row's block is headed by them on one
            line (0: every column is a ``header: value`` line).
        split: whether a table too wide for the page is first split into tables that each repeat
            the ``key`` columns (for many columns of the same kind, e.g. one per cycle).
        box: the box of the table's own frame.
        pad_edge: whether its own frame pads the outer columns.
    """

    def __init__(self, columns: Sequence[Column], *, title: str | None = None, caption: str | None = None,
                 key: int = 0, split: bool = False, box: boxes.Box | None = boxes.HEAVY_HEAD,
                 pad_edge: bool = True) -> None:
        self.columns = list(columns)
        self.title = title
        self.caption = caption
        self.key = key
        self.split = split
        self._frame = _Frame(box, pad_edge)
        self.rows: list[list[Cell]] = []

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def add_row(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"a row of {len(cells)} cells for a table of {len(self.columns)} columns")
        self.rows.append([Text(cell) if isinstance(cell, str) else cell for cell in cells])

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.title:
            yield paragraph(self.title, "table.title")
        tables = self._tables(console, options)
        if tables is None:
            yield self.stacked()
        for index, table in enumerate(tables or []):
            yield table if index == 0 else Group(Text(""), table)
        if self.caption:
            yield paragraph(self.caption, "table.caption")

    def stacked(self) -> Group:
        """Each row as a block: its key cells on one line (``a · b``), then one indented ``header: value``
        line for each other cell; without key columns, the blocks are apart by an empty line."""
        blocks: list[RenderableType] = []
        for index, row in enumerate(self.rows):
            if self.key:
                heading = Text(" · ").join(_text(cell) for cell in row[: self.key])
                heading.no_wrap, heading.overflow = False, "fold"
                blocks.append(heading)
            elif index:
                blocks.append(Text(""))
            grid = Table.grid(padding=(0, 1))
            grid.add_column(no_wrap=True)
            grid.add_column(overflow="fold")
            for column, cell in zip(self.columns[self.key:], row[self.key:], strict=True):
                grid.add_row(Text(f"{column.header}:"), cell)
            blocks.append(Padding(grid, (0, 0, 0, 2), expand=False))
        return Group(*blocks)

    def _tables(self, console: Console, options: ConsoleOptions) -> list[Table] | None:
        """The table, or its parts that repeat the key columns, fitted to the page; None: stack its rows."""
        page = _Page(console, options, *self._widths(console, options))
        everything = list(range(len(self.columns)))
        for frame in (self._frame, _COMPACT):
            whole = self._fitted(page, everything, frame)
            if whole is not None:
                return [whole]
        if not (self.split and self.key):
            return None
        for frame in (self._frame, _COMPACT):
            parts = self._split(page, everything, frame)
            if parts is not None:
                return parts
        return None

    def _split(self, page: _Page, everything: list[int], frame: _Frame) -> list[Table] | None:
        """Tables of the key columns and as many of the others as fit beside them, in order."""
        keys, rest = everything[: self.key], everything[self.key:]
        parts: list[Table] = []
        while rest:
            for count in range(len(rest), 0, -1):
                part = self._fitted(page, keys + rest[:count], frame)
                if part is not None:
                    parts.append(part)
                    rest = rest[count:]
                    break
            else:
                return None
        return parts

    def _widths(self, console: Console, options: ConsoleOptions) -> tuple[list[int], list[int]]:
        """Each column's natural width (its longest line) and the narrowest it may get."""
        natural, minimum = [], []
        for index, column in enumerate(self.columns):
            cells = _measured(console, options, [row[index] for row in self.rows])
            header = _measured(console, options, [Text(column.header)])[0]
            widest = max((cell.maximum for cell in cells), default=0)
            natural.append(max(widest, header.maximum))
            # ids and numbers stay whole; text is not squeezed into a column too narrow to read
            whole = widest if column.kind is not Kind.TEXT else min(widest, _READABLE)
            minimum.append(max([whole, header.minimum, *(cell.minimum for cell in cells)]))
        return natural, minimum

    def _fitted(self, page: _Page, indexes: list[int], frame: _Frame) -> Table | None:
        """The table of the columns ``indexes`` in ``frame`` that fits the page, or None. Only in the
        compact frame does text wrap: it leaves that text more room than borders would."""
        natural = [page.natural[i] for i in indexes]
        narrowest = [page.minimum[i] for i in indexes] if frame is _COMPACT else natural
        widths = fit_widths(natural, narrowest, page.options.max_width - _overhead(page, len(indexes), frame))
        return None if widths is None else self._table(indexes, widths, frame)

    def _table(self, indexes: list[int], widths: list[int], frame: _Frame) -> Table:
        table = _framed(frame)
        for index, width in zip(indexes, widths, strict=True):
            column = self.columns[index]
            # wide enough for every id and number in it, so only text (and a header) ever wraps
            table.add_column(column.header, width=width, overflow="fold",
                             justify="right" if column.kind is Kind.NUMBER else "left")
        for row in self.rows:
            table.add_row(*(row[index] for index in indexes))
        return table

def fit_widths(natural: Sequence[int], minimum: Sequence[int], available: int) -> list[int] | None:
    """Column widths within ``available``: each column's natural width, the widest ones narrowed first
    but none below its minimum; None if even the minimums do not fit."""
    if sum(minimum) > available:
        return None
    widths = list(natural)
    for _ in range(sum(widths) - available):
        widest = max((i for i, width in enumerate(widths) if width > minimum[i]), key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def paragraph(markup: str, style: str = "") -> Group:
    """``markup`` wrapped between words to the page width, even on a soft-wrapping console."""
    text = Text.from_markup(markup, style=style, overflow="fold")
    text.no_wrap = False
    return Group(text)  # printed alone, a Text would be joined into a new one that forgets no_wrap


@dataclass(frozen=True)
class _Page:
    """Where a table is printed, and its columns' natural and narrowest widths."""

    console: Console
    options: ConsoleOptions
    natural: list[int]
    minimum: list[int]


def _overhead(page: _Page, columns: int, frame: _Frame) -> int:
    """The width ``frame``'s borders and padding take beside the content of ``columns`` columns."""
    bare = _framed(frame)
    for _ in range(columns):
        bare.add_column(width=1)
    return bare.__rich_measure__(page.console, page.options.update_width(_UNBOUNDED)).maximum - columns


def _framed(frame: _Frame) -> Table:
    return Table(box=frame.box, pad_edge=frame.pad_edge, padding=frame.padding, show_edge=frame.show_edge)


def _text(cell: Cell) -> Text:
    return Text(cell) if isinstance(cell, str) else cell


def _measured(console: Console, options: ConsoleOptions, cells: list[Cell]) -> list[Measurement]:
    """Each cell's narrowest (its longest word) and natural (its longest line) width."""
    wide = options.update_width(_UNBOUNDED)
    return [Measurement.get(console, wide, cell) for cell in cells]

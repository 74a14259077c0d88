"""Load a definition's YAML safely, keeping where every key and value came from.

The text is composed into YAML nodes (which carry line and column) and turned
into plain Python values here, by our own walk, instead of by a PyYAML
constructor. That walk is where the safety rules live: only the standard JSON-like
tags are accepted (``!!python/...`` and every other tag is an error), duplicate
keys are errors, alias expansion is bounded (no "billion laughs"), nesting is
bounded (checked on the event stream before anything recursive sees the text),
numbers are finite and of a sane length, and nothing is ever evaluated as code.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pdcaflow.engine.errors import DefinitionError, Diagnostic, KeyPath

MAX_FILE_BYTES = 1024 * 1024
MAX_EXPANDED_NODES = 50_000  # values produced by aliases (the document's own size is bounded by MAX_FILE_BYTES)
MAX_DEPTH = 64
MAX_INT_DIGITS = 100

_YAML = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_YAML}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")}
_ALLOWED_TAGS = _SCALAR_TAGS | {f"{_YAML}map", f"{_YAML}seq"}
_MERGE_TAG = f"{_YAML}merge"

try:  # the C composer is ~10x faster; marks and nodes are the same
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class Span:
    """A 1-based position in the source text and how many characters it covers."""

    line: int
    column: int
    length: int = 1


@dataclass
class SourceMap:
    """Where each key path of a document is written: its key and its value."""

    keys: dict[KeyPath, Span] = field(default_factory=dict)
    values: dict[KeyPath, Span] = field(default_factory=dict)

    def locate(self, key_path: KeyPath, *, at_key: bool = False) -> Span:
        """The best span for ``key_path``: exact if present, else its nearest ancestor."""
        probe = tuple(key_path)
        while True:
            table = (self.keys, self.values) if at_key else (self.values, self.keys)
            for spans in table:
                if probe in spans:
                    return spans[probe]
            if not probe:
                return Span(1, 1)
            probe = probe[:-1]


@dataclass(frozen=True)
class LoadedDocument:
    """A definition file read and parsed, not yet validated."""

    path: str
    text: str
    data: dict[str, Any]
    source_map: SourceMap
    sha256: str

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


class _LoadProblem(Exception):
    def __init__(self, code: str, message: str, span: Span, hint: str) -> None:
        super().__init__(message)
        self.code, self.message, self.span, self.hint = code, message, span, hint


def load_definition_file(path: str | Path) -> LoadedDocument:
    """Read and parse a definition file.

    Raises:
        DefinitionError: the file is missing, unreadable, binary, too large, empty,
            not valid YAML, or uses a construct pdcaflow does not accept.
    """
    shown = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise _single(shown, "PDCA009", "file not found", Span(0, 0), "check the path") from None
    except OSError as exc:
        raise _single(shown, "PDCA009", f"cannot read file: {exc.strerror}", Span(0, 0),
                      "check that the path is a readable file") from exc
    return load_definition_bytes(raw, shown)


def load_definition_bytes(raw: bytes, path: str = "<string>") -> LoadedDocument:
    """Parse definition text given as bytes (UTF-8, an optional BOM is dropped)."""
    if len(raw) > MAX_FILE_BYTES:
        raise _single(path, "PDCA010", f"file is {len(raw):,} bytes; the limit is {MAX_FILE_BYTES:,}",
                      Span(1, 1), "a process definition is a short text file; split large data out")
    text = _decode(raw, path)
    return load_definition_text(text, path)


def load_definition_text(text: str, path: str = "<string>") -> LoadedDocument:
    """Parse definition text (already decoded) into data plus a source map."""
    sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        root = _compose_single(text)
        source_map = SourceMap()
        data = _Builder(source_map).build(root)
    except _LoadProblem as problem:
        raise _single(path, problem.code, problem.message, problem.span, problem.hint) from None
    return LoadedDocument(path=path, text=text, data=data, source_map=source_map, sha256=sha256)


def _single(path: str, code: str, message: str, span: Span, hint: str) -> DefinitionError:
    return DefinitionError([Diagnostic(code, message, path, span.line, span.column, (), hint, span.length)])


def _decode(raw: bytes, path: str) -> str:
    if b"\x00" in raw:
        offset = raw.index(b"\x00")
        line = raw.count(b"\n", 0, offset) + 1
        column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
        raise _single(path, "PDCA005", "file is binary (contains a NUL byte), not YAML text",
                      Span(line, column), "a definition is a UTF-8 text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _single(path, "PDCA005", f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                      Span(line, column), "save the file as UTF-8") from None


def _span(node: Node) -> Span:
    start, end = node.start_mark, node.end_mark
    length = end.column - start.column if end.line == start.line else 1
    return Span(start.line + 1, start.column + 1, max(length, 1))


def _check_nesting(text: str, loader: Any = _Loader) -> None:
    """Refuse nesting deeper than MAX_DEPTH from the event stream, before the (recursive) composer runs.

    A node's depth is how many mappings and lists hold it (the document's top mapping is at 0), the same
    count as the length of its key path. Keys count too: ``{{{a: 1}: 1}: 1}`` nests as deep as it looks.
    """
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, ScalarEvent | AliasEvent | CollectionStartEvent) and depth > MAX_DEPTH:
            mark = event.start_mark  # the parser always sets it; the stubs allow None
            span = Span(mark.line + 1, mark.column + 1) if mark else Span(1, 1)
            raise _LoadProblem("PDCA007", f"document is nested more than {MAX_DEPTH} levels deep",
                               span, "flatten the structure")
        if isinstance(event, CollectionStartEvent):
            depth += 1
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def _compose_single(text: str) -> Node:
    try:
        _check_nesting(text)
        documents = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in str(exc.problem):  # libyaml's own limit (1,000) stops it before an event
            _check_nesting(text, yaml.SafeLoader)  # the slower pure-Python parser finds where ours is passed
        mark = exc.problem_mark or exc.context_mark
        span = Span(mark.line + 1, mark.column + 1) if mark else Span(1, 1)
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise _LoadProblem("PDCA001", f"YAML syntax error: {problem}{context}", span,
                           "check indentation, colons and quotes on this line and the one before") from None
    except yaml.YAMLError as exc:
        raise _LoadProblem("PDCA001", f"YAML syntax error: {exc}", Span(1, 1),
                           "check the file is YAML") from None
    documents = [doc for doc in documents if doc is not None]
    if not documents:
        raise _LoadProblem("PDCA004", "file is empty (no YAML content)", Span(1, 1),
                           "start with `id:`, `title:` and `steps:`; see the README's YAML reference")
    if len(documents) > 1:
        raise _LoadProblem("PDCA008", "file holds more than one YAML document", _separator(text, documents[0]),
                           "keep one process per file; remove the `---` separator")
    root = documents[0]
    if not isinstance(root, MappingNode):
        kind = "a list" if isinstance(root, SequenceNode) else "a single value"
        raise _LoadProblem("PDCA003", f"a definition must be a mapping of keys, not {kind}", _span(root),
                           "write keys at the top level: `id: ...`, `title: ...`, `steps: ...`")
    return root


def _separator(text: str, first: Node) -> Span:
    """Where the second document starts: its ``---`` line after the first document."""
    lines = text.splitlines()
    for number in range(first.end_mark.line, len(lines)):
        if lines[number].startswith(("---", "...")):
            return Span(number + 1, 1, 3)
    return Span(first.end_mark.line + 1, 1)


class _Builder:
    """Turns composed nodes into Python values, recording positions as it goes."""

    def __init__(self, source_map: SourceMap) -> None:
        self._source_map = source_map
        self._scalars = SafeConstructor()
        self._expanded = 0
        self._seen: set[int] = set()
        self._active: set[int] = set()

    def build(self, root: Node) -> dict[str, Any]:
        value = self._value(root, ())
        assert isinstance(value, dict)  # _compose_single checked the root is a mapping
        return value

    def _value(self, node: Node, key_path: KeyPath) -> Any:
        if id(node) in self._seen:  # a node read a second time came through an alias: that is expansion
            self._expanded += 1
        self._seen.add(id(node))
        if self._expanded > MAX_EXPANDED_NODES:
            raise _LoadProblem("PDCA007", f"document expands to more than {MAX_EXPANDED_NODES:,} values "
                               "(alias expansion bomb?)", self._outermost_key(key_path, node),
                               "use fewer anchors and aliases (`&name` / `*name`)")
        if len(key_path) > MAX_DEPTH:
            raise _LoadProblem("PDCA007", f"document is nested more than {MAX_DEPTH} levels deep",
                               _span(node), "flatten the structure")
        if node.tag not in _ALLOWED_TAGS:
            shown = node.tag.replace(_YAML, "!!", 1)
            raise _LoadProblem("PDCA006", f"YAML tag '{shown}' is not allowed", _span(node),
                               "definitions use plain YAML values only; remove the `!tag`")
        self._source_map.values.setdefault(key_path, _span(node))
        if id(node) in self._active:
            raise _LoadProblem("PDCA007", "an alias refers to itself (recursive anchor)", _span(node),
                               "an anchor cannot contain an alias to itself")
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, key_path)
            if isinstance(node, SequenceNode):
                return [self._value(item, (*key_path, index)) for index, item in enumerate(node.value)]
            return self._scalar(node, key_path)
        finally:
            self._active.discard(id(node))

    def _outermost_key(self, key_path: KeyPath, node: Node) -> Span:
        """The key whose value was being expanded: the deepest written key above the first list index."""
        best = _span(node)
        for depth in range(1, len(key_path) + 1):
            prefix = key_path[:depth]
            if isinstance(prefix[-1], int):
                break
            best = self._source_map.keys.get(prefix, best)
        return best

    def _scalar(self, node: Node, key_path: KeyPath) -> Any:
        tag = node.tag.removeprefix(_YAML)
        if tag in ("str", "timestamp"):  # dates stay text: the model decides what they mean
            return str(node.value)
        if tag == "int" and sum(char.isalnum() for char in str(node.value)) > MAX_INT_DIGITS:
            # Python refuses to read 4,300 digits and YAML 1.1's base-60 form (1:30:30) multiplies
            # without limit: a number this long is a mistake or an attack, never a count
            raise _LoadProblem("PDCA015", f"number has more than {MAX_INT_DIGITS} digits (at {_dotted(key_path)})",
                               _span(node),
                               "write a number of sensible size (a measure, a count, an amount)")
        value = getattr(self._scalars, f"construct_yaml_{tag}")(node)
        if isinstance(value, float) and not math.isfinite(value):
            shown = "not a number" if math.isnan(value) else "infinite"
            raise _LoadProblem("PDCA016", f"number is {shown} ({node.value}): only finite numbers are "
                               f"allowed (at {_dotted(key_path)})", _span(node),
                               "write a finite number; leave a bound out (e.g. no `max:`) instead of `.inf`")
        return value

    def _mapping(self, node: MappingNode, key_path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, Span] = {}
        for key_node, value_node in self._merged_pairs(node):
            if not isinstance(key_node, ScalarNode):
                raise _LoadProblem("PDCA001", "a mapping key must be plain text, not a list or mapping",
                                   _span(key_node), "write `key: value`")
            key = str(key_node.value)
            span = _span(key_node)
            if key in seen:
                first = seen[key]
                raise _LoadProblem("PDCA002", f"duplicate key '{key}' (first defined at line {first.line}, "
                                   f"column {first.column})", span,
                                   "a key may appear once per mapping; remove or rename one of them")
            seen[key] = span
            child_path = (*key_path, key)
            self._source_map.keys.setdefault(child_path, span)
            result[key] = self._value(value_node, child_path)
        return result

    def _merged_pairs(self, node: MappingNode) -> list[tuple[Node, Node]]:
        """Expand YAML merge keys (``<<: *base``); explicit keys win over merged ones."""
        explicit = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
        merged: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                continue
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise _LoadProblem("PDCA001", "a merge key `<<` needs a mapping (or a list of them)",
                                       _span(source), "write `<<: *anchor` where the anchor is a mapping")
                merged.extend(self._merged_pairs(source))
        names = {str(k.value) for k, _ in explicit if isinstance(k, ScalarNode)}  # _mapping refuses the others
        kept: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in merged:  # a key that is not text is kept, for _mapping to refuse
            name = str(key_node.value) if isinstance(key_node, ScalarNode) else f"\0{id(key_node)}"
            kept.setdefault(name, (key_node, value_node))
        return explicit + [pair for name, pair in kept.items() if name not in names]


def _dotted(key_path: KeyPath) -> str:
    return ".".join(str(part) for part in key_path) or "the top level"

"""YAML loading that keeps line numbers, and mapping of validation errors back to them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from streamcv.errors import ConfigError

__all__ = ["load_yaml", "validate", "line_of"]

M = TypeVar("M", bound=BaseModel)


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file keeping line information (ruamel round-trip nodes)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such config file", file=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config: {exc}", file=str(p)) from exc
    return loads_yaml(text, file=str(p))


def loads_yaml(text: str, *, file: str = "<string>") -> Any:
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {exc.problem or exc.context}", line=line,
                          file=file) from exc


def line_of(data: Any, loc: tuple[int | str, ...]) -> tuple[int | None, str]:
    """Return (1-based line, dotted key path) of the deepest node of ``loc`` found in ``data``.

    Discriminated-union tags that pydantic puts in ``loc`` (the value of ``type:``) are skipped.
    """
    line = data.lc.line + 1 if isinstance(data, (CommentedMap, CommentedSeq)) else None
    keys: list[str] = []
    node: Any = data
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedMap) and (node.get("type") == part or _is_branch(part)):
            continue  # a union tag or branch label that pydantic adds to loc, not a key
        else:
            node = None  # a missing key: name it, but the line stays at its parent
        keys.append(str(part))
    return line, ".".join(keys)


_BUILTIN_BRANCHES = frozenset({"str", "int", "float", "bool", "list", "dict", "none"})


def _is_branch(part: int | str) -> bool:
    """pydantic names union branches in ``loc`` by type: 'str', 'PipelineConfig', 'function-..'."""
    return isinstance(part, str) and (
        part in _BUILTIN_BRANCHES or part[:1].isupper() or "[" in part or "-" in part
    )


_ITEM_PATH = re.compile(r"(\w+(?:\.\w+)+): (.+)", re.DOTALL)


def _item_error(loc: tuple[int | str, ...], msg: str) -> tuple[tuple[int | str, ...], str]:
    """Move the path that a list or model validator puts before its message into ``loc``.

    A validator of ``stages`` that rejects ``stages.1.detections_from`` says so in its message;
    pydantic can only place the error at ``stages``. The path, relative to the validated field,
    is appended to ``loc`` so that the error names the key and the line of the item.

    Example:
        >>> _item_error(("pipeline", "stages"), "stages.1.detections_from: 'x' is not ...")
        (('pipeline', 'stages', 1, 'detections_from'), "'x' is not ...")
    """
    m = _ITEM_PATH.fullmatch(msg)
    if m is None or not loc:
        return loc, msg
    head, *rest = m.group(1).split(".")
    if head != loc[-1]:
        return loc, msg
    return (*loc, *(int(p) if p.isdigit() else p for p in rest)), m.group(2)


def validate(model: type[M], data: Any, *, file: str = "<config>") -> M:
    """Validate ``data`` into ``model``; the first error becomes a ConfigError naming line and
    key."""
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # With unions, the deepest error is the one about the branch the user meant.
        err = max(exc.errors(), key=lambda e: (
            len(e["loc"]), not any(part in _BUILTIN_BRANCHES for part in e["loc"])
        ))
        loc, msg = tuple(err["loc"]), err["msg"].removeprefix("Value error, ")
        if err["type"] == "value_error":
            loc, msg = _item_error(loc, msg)
        line, key = line_of(data, loc)
        if err["type"] == "extra_forbidden":
            msg = "unknown key (typo?)"
        elif err["type"] == "union_tag_invalid":
            msg = msg.replace("Input tag", "type")
        more = len(exc.errors()) - 1
        if more:
            msg += f" (+{more} more error{'s' if more > 1 else ''})"
        raise ConfigError(msg, key=key or None, line=line, file=file) from None

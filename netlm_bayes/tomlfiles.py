"""Read a TOML file into a validated pydantic model, or fail with one clear message."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ValidationError

from netlm_bayes.errors import InputError


def read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a folder, not a file") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from exc


def validate[Model: BaseModel](model_cls: type[Model], raw: dict, path: Path) -> Model:
    """Validate `raw`; every problem is named by its field path, in one InputError."""
    try:
        return model_cls.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_location(err['loc'], raw)}: {_message(err)}" for err in exc.errors()
        )
        raise InputError(f"{path}: {problems}") from exc


def load[Model: BaseModel](model_cls: type[Model], path: Path, **extra) -> Model:
    return validate(model_cls, {**read_toml(path), **extra}, path)


def _message(error: dict) -> str:
    # pydantic prefixes messages from our own validators with "Value error, ".
    return error["msg"].removeprefix("Value error, ")


def _location(loc: tuple, raw: dict) -> str:
    """Field path, with list items named by their `name` field where they have one."""
    parts, node = [], raw
    for part in loc:
        label = part
        try:
            node = node[part]
            if isinstance(part, int) and isinstance(node, dict) and "name" in node:
                label = node["name"]
        except (KeyError, IndexError, TypeError):
            node = None
        parts.append(str(label))
    return ".".join(parts) or "(top level)"

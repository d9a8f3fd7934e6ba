"""The one error type for bad input, and how its messages name an option.

A message names an option with `option("prior_set")`, never as a command-line flag: the
same refusal reaches a notebook user (who wrote `prior_set=`) and a shell user (who typed
`--prior-set`). `str(error)` renders the Python keyword; the CLI renders the flag
(`InputError.for_cli`). `error.fields` lists the options a message is about.
"""

from __future__ import annotations

import re

_MARK = "\x1f"  # ASCII unit separator: never part of a file name, column or value
_OPTION = re.compile(f"{_MARK}([^{_MARK}]+){_MARK}")

# Where the command line's name for an option differs from the Python keyword.
CLI_NAMES = {
    "duration_col": "time",
    "event_col": "event",
    "outcome_col": "outcome",
    "references": "reference",
    "sizes": "n",
}
_NOTHING = object()


def option(name: str, value=_NOTHING) -> str:
    """An option as the reader will have written it, by its Python keyword, with the value
    given when there is one: `option("drop_missing", True)` is `drop_missing=True` in Python
    and `--drop-missing` at the command line; `option("formula", "age +")` is
    `formula='age +'` and `--formula 'age +'`."""
    written = name if value is _NOTHING else f"{name}={value!r}"
    return f"{_MARK}{written}{_MARK}"


def as_flag(written: str) -> str:
    keyword, _, value = written.partition("=")
    switched_off = value == "False"  # a typer boolean's off switch: --no-<name>
    flag = (
        "--" + ("no-" if switched_off else "") + CLI_NAMES.get(keyword, keyword).replace("_", "-")
    )
    return flag if value in ("", "True", "False") else f"{flag} {value}"


def as_keyword(written: str) -> str:
    return written if "=" in written else f"{written}="


class InputError(ValueError):
    """Bad input: the message names the file, the row or field, and the rule broken."""

    def __init__(self, message: str):
        self.message = message  # with its options marked, for `for_cli`
        super().__init__(_OPTION.sub(lambda m: as_keyword(m.group(1)), message))

    def __reduce__(self):
        # Raised in a worker process (study parts, Dask), it must reach the CLI with its
        # options still marked, not already rendered for Python.
        return (type(self), (self.message,))

    @property
    def fields(self) -> tuple[str, ...]:
        """The options this message is about, by their Python keyword."""
        return tuple(name.partition("=")[0] for name in _OPTION.findall(self.message))

    def for_cli(self) -> str:
        return _OPTION.sub(lambda m: as_flag(m.group(1)), self.message)

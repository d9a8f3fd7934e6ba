"""Every command the README and docs/ show still exists, with the flags they show it with;
every `make` target they name is in the Makefile. A renamed flag fails here, not in a
reader's terminal."""

from __future__ import annotations

import re

import pytest
import typer

from netlm_bayes.cli.app import app
from netlm_bayes.paths import PROJECT_ROOT

PAGES = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
# A command runs to the end of its line (continuations joined), a pipe, `;`, `&&`, a
# comment or the end of an inline code span.
COMMAND = re.compile(r"netlm-bayes[ \t]+([a-z][a-z-]*)([^`|;&#\n]*)")
MAKE = re.compile(r"`make ([a-z-]+)|^make ([a-z-]+)", re.MULTILINE)


def _commands() -> dict[str, set[str]]:
    group = typer.main.get_command(app)
    flags = {}
    for name, command in group.commands.items():
        options = {"--help"}
        for parameter in command.params:
            options.update(o for o in (*parameter.opts, *parameter.secondary_opts)
                           if o.startswith("--"))  # fmt: skip
        flags[name] = options
    return flags


def _code(text: str) -> str:
    """The page's fenced blocks and inline code spans: where commands are shown."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    spans = re.findall(r"`([^`\n]+)`", prose)
    return "\n".join([*fenced, *spans]).replace("\\\n", " ")


def _shown() -> list[tuple[str, str, set[str]]]:
    found = []
    for page in PAGES:
        for match in COMMAND.finditer(_code(page.read_text())):
            shown = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", match.group(2)))
            found.append((page.name, match.group(1), shown))
    return found


SHOWN = _shown()


def test_the_pages_show_commands_at_all():
    assert len(SHOWN) > 40
    assert {name for _, name, _ in SHOWN} >= {"fit", "study", "map", "plan", "export-prior"}


@pytest.mark.parametrize(("page", "command", "shown"), SHOWN,
                         ids=[f"{p}:{c}" for p, c, _ in SHOWN])  # fmt: skip
def test_a_shown_command_exists_with_its_flags(page, command, shown):
    commands = _commands()
    assert command in commands, f"{page}: `netlm-bayes {command}` is no command"
    unknown = shown - commands[command]
    assert not unknown, f"{page}: `netlm-bayes {command}` has no {sorted(unknown)}"


def test_every_make_target_shown_is_in_the_makefile():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    for page in PAGES:
        for match in MAKE.finditer(page.read_text()):
            target = match.group(1) or match.group(2)
            assert target in targets, f"{page.name}: `make {target}` is no Makefile target"

"""Every number README.md and docs/ quote from `make fit` comes from the code.

tests/docs_numbers.toml lists each quoted passage: the page, the text exactly as printed,
the run file and row it comes from, and the column behind each number in it. The slow test
runs the study as `make fit` does (default profile, default seed) and checks that each page
still holds its text and that each number agrees with the run: probabilities to 0.015, and
other values to 5% (Monte Carlo error of a 95% interval's end at this run's ESS is about
2%; another CPU may sample a different chain). The fast test checks the registry itself:
every passage is on its page, and every number in it has a column.
"""

from __future__ import annotations

import re
import tomllib

import pandas as pd
import pytest
from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from netlm_bayes.paths import PROJECT_ROOT

REGISTRY = PROJECT_ROOT / "tests" / "docs_numbers.toml"
QUOTES = tomllib.loads(REGISTRY.read_text(encoding="utf-8"))["quote"]
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
PROBABILITY_ABS = 0.015
VALUE_REL = 0.05


def _numbers(quote: dict) -> list[float]:
    """The quote's numbers in order, after `after`, less those in `skip` (a threshold or a
    count that is no result, each dropped once)."""
    text = quote["text"].split(quote["after"], 1)[-1] if "after" in quote else quote["text"]
    numbers = [float(n) for n in NUMBER.findall(text)]
    for skipped in quote.get("skip", []):
        numbers.remove(float(skipped))
    return numbers


def _value(run, source: dict) -> float:
    """The run's value behind one number: one row's column, the `row`-th of several, or
    the `agg` (min or max) over them; `where` values may be lists."""
    table = pd.read_csv(run / source["file"])
    for name, value in source["where"].items():
        wanted = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        table = table[table[name].astype(str).isin(wanted)]
    column = table[source["column"]]
    if "agg" in source:
        return float(getattr(column, source["agg"])())
    if "row" in source:
        return float(column.iloc[source["row"]])
    assert len(column) == 1, source
    return float(column.iloc[0])


def _sources(quote: dict) -> list[dict]:
    """Where each number comes from: `values` (a column, with its own `where` and `file`
    if they differ from the quote's), or the quote's `columns` in its one row."""
    base = {"file": quote.get("file", "comparison.csv"), "where": quote.get("where", {})}
    if "values" in quote:
        return [{**base, **v, "where": {**base["where"], **v.get("where", {})}}
                for v in quote["values"]]  # fmt: skip
    return [{**base, "column": column} for column in quote["columns"]]


@pytest.mark.parametrize("quote", QUOTES, ids=[q["text"][:40] for q in QUOTES])
def test_each_quote_is_on_its_page_with_a_source_per_number(quote):
    page = (PROJECT_ROOT / quote["page"]).read_text(encoding="utf-8")
    assert quote["text"] in " ".join(page.split()), (quote["page"], quote["text"])
    assert len(_numbers(quote)) == len(_sources(quote)), quote["text"]


@pytest.fixture(scope="module")
def make_fit_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs") / "study"
    result = CliRunner().invoke(app, ["study", "--profile", "default", "--seed", "20260101",
                                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.slow
@pytest.mark.parametrize("quote", QUOTES, ids=[q["text"][:40] for q in QUOTES])
def test_each_quoted_number_matches_a_fresh_make_fit(make_fit_run, quote):
    for shown, source in zip(_numbers(quote), _sources(quote), strict=True):
        column, scale = source["column"], source.get("scale", 1)
        actual = _value(make_fit_run, source) * scale
        if column.startswith(("prob_", "psense_", "ess_share")):
            tolerance = PROBABILITY_ABS * scale
            assert abs(actual - shown) <= tolerance, (quote["text"], column, actual)
        else:
            assert abs(actual - shown) <= VALUE_REL * abs(actual), (quote["text"], column, actual)

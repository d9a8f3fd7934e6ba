"""Covariates as users write them: numeric columns as they are, categorical columns
treatment-coded against a stated reference level, and formulas (formulaic, as lifelines
and statsmodels use it) with interactions and transforms.

Every design column becomes one effect, named for what it is: `age`, `tgrade[II]` (grade
II against the reference), `np.log(tsize)`, `tsize:pnodes`. The coding of each effect (its
columns, level, reference, contrast and term) travels with the posterior and with an
exported prior, so that a prior for "grade II vs I" is never applied to a cohort coded
"grade III vs I-II".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence.screening import distinct

CONTRAST = "treatment"
# `C(var)` or `C(var, ...)` in a formula: var is categorical even when it holds numbers.
_C_TERM = re.compile(r"\bC\(\s*(?:`([^`]+)`|([^`,()\s]+))[^)]*\)")
_NAME = re.compile(r"`([^`]+)`|([A-Za-z_][A-Za-z0-9_.]*)")


@dataclass(frozen=True)
class Effect:
    """One design column: what the model's coefficient means."""

    name: str  # the effect's name: the summary's `hr_<name>`, the prior's parameter
    columns: tuple[str, ...]  # the data columns it reads
    term: str  # the formula term it comes from (the column itself when plain)
    level: str | None = None  # for a categorical column: the level against the reference
    reference: str | None = None

    def describe(self) -> dict:
        described = {"columns": list(self.columns), "term": self.term}
        if self.level is not None:
            described |= {"level": self.level, "reference": self.reference,
                          "contrast": CONTRAST}  # fmt: skip
        return described


@dataclass
class Coding:
    """How a cohort's columns became the model's covariates."""

    effects: list[Effect]
    formula: str | None = None
    # Per categorical column: its levels, the reference first, and how many rows each has.
    levels: dict[str, dict[str, int]] = field(default_factory=dict)
    # formulaic's ModelSpec (None for plain numeric columns): codes new rows as these were.
    model_spec: object = field(default=None, repr=False, compare=False)

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.effects]

    def describe(self) -> dict:
        """JSON-able, for manifests, posterior attrs and exported priors."""
        return {
            "formula": self.formula,
            "effects": {e.name: e.describe() for e in self.effects},
            "levels": {column: list(counts) for column, counts in self.levels.items()},
        }


def groupings(X: np.ndarray, names: list[str], code: Coding | None) -> dict[str, list]:
    """The groups a cohort falls into, for curves per group: per binary covariate, and per
    categorical column (all its levels, the reference first). Each level is (label, values,
    rows): the covariate values that put a patient in it (NaN: as observed; a categorical
    level sets all its column's indicators together), and which patients are in it."""
    members: dict[str, list[tuple[int, str]]] = {}
    for j, effect in enumerate(code.effects if code else []):
        if effect.level is not None:
            members.setdefault(effect.columns[0], []).append((j, effect.level))
    grouped = {j for column in members.values() for j, _ in column}
    found: dict[str, list] = {}
    for j, name in enumerate(names):
        if j in grouped or not np.isin(X[:, j], [0, 1]).all():
            continue
        found[name] = [(f"{name}={v}", _setting({j: v}, len(names)), X[:, j] == v) for v in (0, 1)]
    for column, levels in members.items():
        indices = [j for j, _ in levels]
        reference = code.effects[indices[0]].reference
        none = _setting(dict.fromkeys(indices, 0), len(names))
        found[column] = [(f"{column}={reference}", none, (X[:, indices] == 0).all(axis=1))]
        for j, level in levels:
            values = _setting({**dict.fromkeys(indices, 0), j: 1}, len(names))
            found[column].append((f"{column}={level}", values, X[:, j] == 1))
    return found


def level_warnings(source: str, X: np.ndarray, code: Coding | None, event) -> list[str]:
    """Categorical levels too thin to estimate: seen once, or (survival) with no events."""
    if code is None:
        return []
    notes = []
    for column, counts in code.levels.items():
        once = [level for level, n in counts.items() if n == 1]
        if once:
            notes.append(
                f"{source}: column {column!r}: level(s) {', '.join(map(repr, once))} seen in "
                "one row only; their effects rest mostly on the prior"
            )
    for j, effect in enumerate(code.effects):
        if event is not None and effect.level is not None and event[X[:, j] == 1].sum() == 0:
            notes.append(
                f"{source}: no events in level {effect.level!r} of column "
                f"{effect.columns[0]!r}; its HR has no finite maximum-likelihood estimate "
                "and rests on its prior"
            )
    return notes


def _setting(values: dict[int, float], width: int) -> np.ndarray:
    setting = np.full(width, np.nan)
    for j, value in values.items():
        setting[j] = value
    return setting


def variables(formula: str, available: list[str]) -> list[str]:
    """The data columns a formula reads, in the order it names them."""
    names = [a or b for a, b in _NAME.findall(formula)]
    return list(dict.fromkeys(n for n in names if n in available))


def categorical_columns(
    frame: pd.DataFrame, candidates: list[str], formula: str | None
) -> list[str]:
    """Columns to treatment-code: those holding labels (no value is a number), and any the
    formula wraps in C(...)."""
    wrapped = {a or b for a, b in _C_TERM.findall(formula or "")}
    found = []
    for column in candidates:
        values = pd.Series([str(v).strip() for v in distinct(frame[column])], dtype=object)
        numbers = pd.to_numeric(values, errors="coerce")
        if column in wrapped or (len(values) and numbers.isna().all()):
            found.append(column)
    return found


def design(
    where: str,
    frame: pd.DataFrame,
    covariates: list[str],
    formula: str | None,
    categorical: list[str],
    references: dict[str, str],
    file_columns: list[str] | None = None,
) -> tuple[np.ndarray, Coding]:
    """The design matrix (no intercept) and its coding. Numeric covariates without a
    formula are taken as they are; anything else goes through formulaic. `file_columns`
    (default: the frame's) are listed when a formula names a column that is not there."""
    _check_references(where, references, categorical)
    if formula is None and not categorical:
        effects = [Effect(c, (c,), c) for c in covariates]
        return frame[covariates].to_numpy(float), Coding(effects)
    frame = frame.copy()
    levels = {}
    for column in categorical:
        frame[column], levels[column] = _ordered(where, frame[column], references.get(column))
    text = formula if formula is not None else " + ".join(_quoted(c) for c in covariates)
    full = _model_matrix(where, text, frame, file_columns or list(frame.columns))
    matrix = _without_intercept(full)
    effects = [_effect(column, frame.columns, levels) for column in matrix.columns]
    return matrix.to_numpy(float), Coding(effects, formula, levels, full.model_spec)


def new_rows(code: Coding, table: pd.DataFrame) -> np.ndarray:
    """New patients' covariate rows, coded exactly as the fitted cohort was: the same
    columns and transforms, each categorical level against the same reference. A level the
    cohort never had, a missing value or a label in a numeric column is refused."""
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame of new rows, got {type(table).__name__}")
    needed = list(dict.fromkeys(c for effect in code.effects for c in effect.columns))
    absent = [c for c in needed if c not in table.columns]
    if absent:
        raise InputError(
            f"new rows: no column {', '.join(map(repr, absent))}; the model reads "
            f"{', '.join(map(repr, needed))}"
        )
    frame = pd.DataFrame(index=range(len(table)))
    for column in needed:
        values = table[column].reset_index(drop=True)
        empty = values.isna()
        if empty.any():
            rows = ", ".join(str(i + 1) for i in np.flatnonzero(empty)[:5])
            raise InputError(f"new rows: column {column!r} is empty in row(s) {rows}")
        frame[column] = (
            _known_levels(column, values, list(code.levels[column]))
            if column in code.levels
            else _numbers(column, values)
        )
    if code.model_spec is None:
        return frame[code.names].to_numpy(float)
    return _without_intercept(code.model_spec.get_model_matrix(frame)).to_numpy(float)


def _known_levels(column: str, values: pd.Series, levels: list[str]) -> pd.Categorical:
    labels = values.astype(str).str.strip()
    unknown = sorted(set(labels) - set(levels))
    if unknown:
        raise InputError(
            f"new rows: column {column!r} has level(s) {', '.join(map(repr, unknown))} that the "
            f"fitted cohort never had; its levels are {', '.join(map(repr, levels))}"
        )
    return pd.Categorical(labels, categories=levels)


def _numbers(column: str, values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna()
    if bad.any():
        shown = ", ".join(f"{values[i]!r} (row {i + 1})" for i in np.flatnonzero(bad)[:5])
        raise InputError(f"new rows: column {column!r} must hold numbers; found {shown}")
    return numbers.astype(float)


def _ordered(where: str, values: pd.Series, reference: str | None):
    """The column as a categorical with its reference level first: the one named, or the
    most frequent (ties: the first in sorted order)."""
    labels = values.astype(str).str.strip()
    counts = labels.value_counts()
    order = sorted(counts.index, key=_natural)
    if len(order) < 2:
        raise InputError(
            f"{where}: column {values.name!r} has a single level ({order[0]!r}); a "
            "categorical covariate needs two or more"
        )
    if reference is None:
        reference = max(order, key=lambda level: counts[level])
    elif reference not in counts:
        raise InputError(
            f"reference level {reference!r} for column {values.name!r} "
            f"({option('references')}): no such level; it has {', '.join(map(repr, order))}"
        )
    order = [reference, *[level for level in order if level != reference]]
    return pd.Categorical(labels, categories=order), {level: int(counts[level]) for level in order}


def _natural(label: str):
    number = pd.to_numeric(label, errors="coerce")
    return (0, float(number), "") if pd.notna(number) else (1, 0.0, label)


def _check_references(where: str, references: dict[str, str], categorical: list[str]) -> None:
    stray = [column for column in references if column not in categorical]
    if stray:
        raise InputError(
            f"reference level for {', '.join(stray)} ({option('references')}): not a "
            "categorical covariate of this model "
            f"(categorical here: {', '.join(categorical) or 'none'})"
        )


def _quoted(column: str) -> str:
    return column if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", column) else f"`{column}`"


def listed_columns(columns) -> str:
    """A file's columns for a hint: all of them, or the first 20 and how many more."""
    names = [str(c) for c in columns]
    shown = ", ".join(names[:HINT_COLUMNS])
    if len(names) > HINT_COLUMNS:
        return f"the file's {len(names)} columns are: {shown}, … ({len(names) - HINT_COLUMNS} more)"
    return f"the file's columns are: {shown}"


HINT_COLUMNS = 20


def _model_matrix(
    where: str, formula: str, frame: pd.DataFrame, file_columns: list[str]
) -> pd.DataFrame:
    import formulaic
    from formulaic.errors import FactorEvaluationError, FormulaParsingError

    try:
        matrix = formulaic.model_matrix(formula, frame, na_action="raise")
    except FormulaParsingError as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"{option('formula', formula)} does not parse: {first}") from exc
    except FactorEvaluationError as exc:
        missing = re.search(r"`([^`]+)` is not present", str(exc))
        if missing:
            raise InputError(
                f"{where}: {option('formula', formula)} names {missing.group(1)!r}, which is not a "
                f"column; {listed_columns(file_columns)}"
            ) from exc
        raise InputError(f"{where}: {option('formula', formula)}: {exc}") from exc
    return matrix


def _without_intercept(matrix) -> pd.DataFrame:
    return matrix.drop(columns=[c for c in matrix.columns if c == "Intercept"])


def _columns_named(design_column: str, data_columns: list[str]) -> tuple[str, ...]:
    """The data columns a design column's name mentions, whole names only (so `age` is not
    found in `stage`), spaces and all, in the order they appear."""
    found = []
    for column in data_columns:
        hit = re.search(rf"(?<![\w.]){re.escape(column)}(?![\w.])", design_column)
        if hit:
            found.append((hit.start(), column))
    return tuple(column for _, column in sorted(found))


def _effect(column: str, data_columns, levels: dict[str, dict[str, int]]) -> Effect:
    """A formulaic design column as an effect: `C(tgrade)[T.II]` is `tgrade[II]`."""
    name = _C_TERM.sub(lambda m: m.group(1) or m.group(2), column).replace("[T.", "[")
    reads = _columns_named(column, [str(c) for c in data_columns])
    level = re.search(r"\[(?:T\.)?([^\]]+)\]$", column)
    single = level and ":" not in column and len(reads) == 1 and reads[0] in levels
    if single:
        reference = next(iter(levels[reads[0]]))
        term = column.split("[")[0]
        return Effect(name, reads, _as_term(term, data_columns), level.group(1), reference)
    return Effect(name, reads, _as_term(column, data_columns))


def _as_term(text: str, data_columns) -> str:
    """A term as a formula can name it again (a column with a space, quoted)."""
    return _quoted(text) if text in set(map(str, data_columns)) else text

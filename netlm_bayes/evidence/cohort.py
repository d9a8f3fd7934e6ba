"""Patient-level cohorts: read a CSV, validate it with pandera, or say exactly what is wrong.

The format (see data/README.md): one row per patient with `patient_id`, `hpfs_months` (> 0),
`progressed` (0/1), `response` (CR/PR/SD/PD) and the 0/1 covariates `htb_gt25`,
`ki67_gt10`, `pet_positive`, `border_clear`. Other columns are kept as they are.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from netlm_bayes import labels
from netlm_bayes.errors import InputError

COVARIATES = ["htb_gt25", "ki67_gt10", "pet_positive", "border_clear"]
RESPONSES = ["CR", "PR", "SD", "PD"]
RESPONDERS = ["CR", "PR"]
# Columns that say which patient and where the row came from: never a covariate.
BOOKKEEPING = ("patient_id", "data_origin")
REQUIRED = ["patient_id", "hpfs_months", "progressed", "response", *COVARIATES]
# How many problems one message lists before it says "and N more".
MAX_LISTED = 8

NUMERIC = ["hpfs_months", "progressed", *COVARIATES]
BINARY = ["progressed", *COVARIATES]

_binary = [pa.Check.isin([0, 1], error="must be 0 or 1")]
SCHEMA = pa.DataFrameSchema(
    {
        "patient_id": pa.Column(str, unique=True, nullable=False, report_duplicates="all"),
        "hpfs_months": pa.Column(
            float,
            [
                pa.Check.gt(0, error="must be > 0 months"),
                pa.Check.lt(float("inf"), error="must be finite"),
            ],
            nullable=False,
        ),
        "response": pa.Column(
            str, pa.Check.isin(RESPONSES, error=f"must be one of {RESPONSES}"), nullable=False
        ),
        **{name: pa.Column(float, _binary, nullable=False) for name in BINARY},
    },
    strict=False,
    ordered=False,
)


def read_cohort(path: Path | str) -> pd.DataFrame:
    """Read and validate a cohort CSV. Any problem is one InputError naming rows and columns."""
    path = Path(path)
    text = read_text(path)
    if not text.strip():
        raise InputError(
            f"{path}: the file is empty; expected a header row and one row per patient"
        )
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    frame.columns = [str(c).strip() for c in frame.columns]
    _check_columns(path, frame, text)
    if frame.empty:
        raise InputError(f"{path}: the file has a header but no patients")
    return validate_cohort(frame, str(path))


def validate_cohort(frame: pd.DataFrame, source: str = "cohort") -> pd.DataFrame:
    """Validate an in-memory cohort (as strings or typed); returns typed columns."""
    text = [column for column in ("patient_id", "response") if column in frame]
    numeric = [column for column in NUMERIC if column in frame]
    frame = validate_columns(frame, SCHEMA, numeric, text, source, REQUIRED)
    frame[BINARY] = frame[BINARY].astype(int)
    return frame.reset_index(drop=True)


def validate_columns(
    frame: pd.DataFrame,
    schema: pa.DataFrameSchema,
    numeric: list[str],
    text: list[str],
    source: str,
    column_order: list[str],
) -> pd.DataFrame:
    """Parse text and numeric columns, check them with pandera, and report every problem
    (unparsable values first, then broken rules) in one InputError."""
    frame = frame.copy()
    problems = []
    for column in text:
        stripped = frame[column].astype("string").str.strip()
        frame[column] = stripped.astype(object).where(stripped.notna(), None)
    for column in numeric:
        parsed = parsed_numbers(frame[column])
        for index in frame.index[frame[column].notna() & parsed.isna()]:
            value = str(frame.at[index, column])
            hint = (
                f" (a decimal comma: write {value.replace(',', '.')})"
                if DECIMAL_COMMA.fullmatch(value.strip())
                else ""
            )
            problems.append((index, column, f"{value!r} is not a number{hint}"))
        frame[column] = parsed
    unparsable = {(index, column) for index, column, _ in problems}
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        for row in exc.failure_cases.itertuples():
            index = int(row.index) if pd.notna(row.index) else None
            if (index, row.column) not in unparsable:
                problems.append((index, row.column, describe_rule(row)))
    if problems:
        raise InputError(f"{source}: {describe_problems(problems, column_order)}")
    return frame


def parsed_numbers(column: pd.Series) -> pd.Series:
    """`pd.to_numeric(column, errors="coerce")` as floats, each distinct text parsed once: a
    registry's covariate has a million cells and a few hundred values (0.7 s a column)."""
    values = pd.unique(column.dropna())
    if len(values) > len(column) // 2:
        return pd.to_numeric(column, errors="coerce").astype(float)
    parsed = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype(float)
    return column.map(pd.Series(parsed.to_numpy(), index=values)).astype(float)


def is_reconstructed(frame: pd.DataFrame) -> bool:
    """A cohort rebuilt from a published KM figure says so in every row (`reconstruct`)."""
    return "data_origin" in frame and (frame["data_origin"] == labels.RECONSTRUCTED).any()


def is_synthetic(frame: pd.DataFrame, path: Path | None = None) -> bool:
    """A cohort is synthetic when its rows or its .json sidecar say so."""
    if "data_origin" in frame and frame["data_origin"].astype(str).str.contains("synthetic").any():
        return True
    sidecar = Path(path).with_suffix(".json") if path else None
    return bool(sidecar and sidecar.exists() and "synthetic" in sidecar.read_text(errors="replace"))


def non_response(frame: pd.DataFrame) -> pd.Series:
    """The logistic outcome: 1 for SD or PD, 0 for CR or PR."""
    return (~frame["response"].isin(RESPONDERS)).astype(int)


def read_text(path: Path, what: str = "cohort file") -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such {what}") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a folder, not a CSV file") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}: line {line} is not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
            "save the file as UTF-8 CSV"
        ) from exc


def _check_columns(path: Path, frame: pd.DataFrame, text: str) -> None:
    missing = [c for c in REQUIRED if c not in frame.columns]
    if not missing:
        return
    reject_other_delimiters(path, frame, text)
    found = ", ".join(frame.columns)
    raise InputError(
        f"{path}: missing required column(s) {', '.join(missing)}; found: {found}. "
        f"Required: {', '.join(REQUIRED)} (see data/README.md)"
    )


def reject_other_delimiters(path: Path, frame: pd.DataFrame, text: str) -> None:
    """A file read as one column is usually ;- or tab-delimited (often with decimal commas,
    as spreadsheets in many locales save it): say so, and how to convert it."""
    if len(frame.columns) == 1:
        try:
            dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=";\t|")
        except csv.Error:
            return
        sep = dialect.delimiter
        comma = DECIMAL_COMMA.search(text.partition("\n")[2])
        decimal = ", decimal=','" if comma else ""
        raise InputError(
            f"{path}: the header looks {sep!r}-delimited"
            + (f", with decimal commas (e.g. {comma.group(0)!r})" if comma else "")
            + "; the cohort must be comma-separated CSV with decimal points. Convert it once, "
            f"e.g. in Python: pd.read_csv(path, sep={sep!r}{decimal}).to_csv(new_path, "
            "index=False)"
        )


DECIMAL_COMMA = re.compile(r"(?<![\d,])-?\d+,\d+(?![\d,])")


def describe_rule(failure) -> str:
    check = str(failure.check)
    if check == "not_nullable":
        return "is empty"
    if check == "field_uniqueness":
        return f"duplicate patient_id {failure.failure_case!r}"
    return f"{failure.failure_case!r} {check}"


def _row(index: int | None) -> str:
    # Patient rows count from 1; in the file the header is line 1, so row N is line N + 1.
    return "table" if index is None else f"row {index + 1} (line {index + 2})"


def describe_problems(
    problems: list[tuple[int | None, str, str]], column_order: list[str] = REQUIRED
) -> str:
    """Problems as "row N (line M), column C: rule", in file order, at most MAX_LISTED."""
    ordered = sorted(
        set(problems),
        key=lambda p: (
            p[0] is None,
            p[0] or 0,
            column_order.index(p[1]) if p[1] in column_order else 99,
        ),
    )
    text = [f"{_row(index)}, column {column}: {rule}" for index, column, rule in ordered]
    shown = "; ".join(text[:MAX_LISTED])
    more = len(text) - MAX_LISTED
    return shown + (f"; and {more} more problem(s)" if more > 0 else "")

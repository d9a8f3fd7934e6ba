"""The validation table of `reconstruct` (docs/reconstruct.md): lifelines' real survival
datasets, each KM figure digitised by emulation 20 times, rebuilt and compared with the
original data. Run from the project root (about 30 s):

    .venv/bin/python scripts/reconstruction_validation.py
"""

from __future__ import annotations

from netlm_bayes.checks import reconstruction


def main() -> None:
    for points in (100, 150):
        groups, ratios = reconstruction.sweep(reconstruction.public_datasets(), range(20), points)
        table = reconstruction.worst_cases(groups, ratios)
        print(f"\n{points} clicked points per curve; worst of 20 emulated digitisations\n")
        print(markdown(table))


def markdown(table) -> str:
    cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in
             table.itertuples(index=False)]  # fmt: skip
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


if __name__ == "__main__":
    main()

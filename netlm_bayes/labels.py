"""Every label that marks output built on synthetic data, in one place, so that a table, a
plot, a manifest and the console say it in the same words."""

from __future__ import annotations

# The `data_origin` of every row built from a cohort.
SYNTHETIC = "synthetic: not patient data"
AS_SUPPLIED = "as supplied"
# Console banners and plot notes.
SYNTHETIC_BANNER = "SYNTHETIC: not patient data. Generated to reproduce the abstract's numbers."
SYNTHETIC_COHORT = "SYNTHETIC cohort: not patient data."
SYNTHETIC_SOURCE = (
    "SYNTHETIC source: this prior comes from a synthetic pseudo-cohort, not patient data; it "
    "carries only what the abstract reports, under the assumptions in data/."
)
# Appended to a table's title.
SYNTHETIC_TAG = " [SYNTHETIC]"


def origin(synthetic: bool) -> str:
    """A row's `data_origin`."""
    return SYNTHETIC if synthetic else AS_SUPPLIED

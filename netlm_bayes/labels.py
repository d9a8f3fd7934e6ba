"""Every label that marks output built on synthetic or reconstructed data, in one place, so
that a table, a plot, a manifest and the console say it in the same words."""

from __future__ import annotations

# The `data_origin` of every row built from a cohort.
SYNTHETIC = "synthetic: not patient data"
AS_SUPPLIED = "as supplied"
RECONSTRUCTED = "reconstructed from a published KM curve"
# A MAP prior's origin (`netlm-bayes map`); ILLUSTRATIVE marks invented studies in it.
PUBLISHED_SUMMARIES = "published summaries of several studies (MAP)"
ILLUSTRATIVE = "ILLUSTRATIVE: invented numbers to show the method, not evidence"


def map_origin(illustrative: bool) -> str:
    """A MAP prior's `data_origin`, marked when invented studies are part of it."""
    return PUBLISHED_SUMMARIES + (" (with ILLUSTRATIVE studies)" if illustrative else "")


# Console banners and plot notes.
SYNTHETIC_BANNER = "SYNTHETIC: not patient data. Generated to reproduce the abstract's numbers."
SYNTHETIC_COHORT = "SYNTHETIC cohort: not patient data, not evidence."
RECONSTRUCTED_COHORT = "RECONSTRUCTED from a published KM curve: approximate patient data."
SYNTHETIC_SOURCE = (
    "SYNTHETIC source: this prior comes from a synthetic pseudo-cohort, not patient data; it "
    "carries only what the abstract reports, under the assumptions in data/."
)
RECONSTRUCTED_SOURCE = (
    "RECONSTRUCTED source: this prior comes from patients rebuilt from a published "
    "Kaplan-Meier figure; their event times are approximate."
)
RECONSTRUCTED_BANNER = (
    "RECONSTRUCTED: patients rebuilt from a published Kaplan-Meier curve (Guyot et al. "
    "2012); event times are approximate and the figure's groups are the only covariate."
)
# Appended to a table's title.
SYNTHETIC_TAG = " [SYNTHETIC]"
RECONSTRUCTED_TAG = " [RECONSTRUCTED]"


def origin(synthetic: bool, reconstructed: bool = False) -> str:
    """A row's `data_origin`: synthetic outranks reconstructed, which outranks as supplied."""
    if synthetic:
        return SYNTHETIC
    return RECONSTRUCTED if reconstructed else AS_SUPPLIED


def combined(origins) -> str:
    """The `data_origin` of a table built from several cohorts: the most cautionary."""
    origins = set(origins)
    return next((o for o in (SYNTHETIC, RECONSTRUCTED) if o in origins), AS_SUPPLIED)


def banner(origin: str) -> str:
    """The console's first line about where the data came from ("" for a user's own)."""
    return {SYNTHETIC: SYNTHETIC_BANNER, RECONSTRUCTED: RECONSTRUCTED_BANNER}.get(origin, "")


def tag(origin: str) -> str:
    """Appended to a table's title."""
    return {SYNTHETIC: SYNTHETIC_TAG, RECONSTRUCTED: RECONSTRUCTED_TAG}.get(origin, "")


def note(origin: str, otherwise: str = "") -> str:
    """A plot's note on where its data came from."""
    return {SYNTHETIC: SYNTHETIC_COHORT, RECONSTRUCTED: RECONSTRUCTED_COHORT}.get(origin, otherwise)

"""How every table prints a number, an interval and a quantity's name."""

from __future__ import annotations

import math

QUANTITY_LABELS = {
    "hr_htb_gt25": "HR, HTB > 25%",
    "or_border_clear": "OR non-response, clear border",
    "or_pet_positive": "OR non-response, FDG PET+",
    "or_ki67_gt10": "OR non-response, Ki-67 > 10%",
    "orr": "ORR",
    "sd_rate": "SD rate",
    "pd_rate": "PD rate",
}
# The same quantities in full clinical words, for figure axes and titles.
LONG_LABELS = {
    "hr_htb_gt25": "hazard ratio of hepatic progression, HTB > 25% vs ≤ 25%",
    "or_border_clear": "odds ratio of non-response, clear vs unclear tumour border",
    "or_pet_positive": "odds ratio of non-response, FDG PET-CT positive vs negative",
    "or_ki67_gt10": "odds ratio of non-response, Ki-67 > 10% vs ≤ 10%",
    "orr": "objective response rate",
    "sd_rate": "stable disease rate",
    "pd_rate": "progressive disease rate",
}
# What each reported ratio means clinically, in the paper's direction, for the verdicts.
CLAIM_WORDS = {
    "hr_htb_gt25": "faster hepatic progression with HTB > 25%",
    "or_border_clear": "fewer non-responders with a clear tumour border",
    "or_pet_positive": "more non-responders when FDG PET-CT is positive",
    "or_ki67_gt10": "more non-responders with Ki-67 > 10%",
}

# The bundled covariates' levels (0, 1) and the bundled time column in words, for figure
# legends and axes; any other column is shown by its own name.
COVARIATE_LEVELS = {
    "htb_gt25": ("HTB ≤ 25%", "HTB > 25%"),
    "ki67_gt10": ("Ki-67 ≤ 10%", "Ki-67 > 10%"),
    "pet_positive": ("FDG PET-CT negative", "FDG PET-CT positive"),
    "border_clear": ("unclear border", "clear border"),
}
COVARIATE_WORDS = {
    "htb_gt25": "hepatic tumour burden", "ki67_gt10": "Ki-67 index",
    "pet_positive": "18F-FDG PET-CT", "border_clear": "tumour border",
}  # fmt: skip
OUTCOME_WORDS = {"hpfs_months": "hepatic progression-free"}
COVARIATE_RATIOS = {"hr_": "HR", "or_": "OR"}

# Posterior predictive statistics in words (the rest are quantities, named by `label`).
STATISTIC_WORDS = {
    "km_median": "Kaplan-Meier median",
    "km_spread": "KM median / KM time to 75% event-free (curve shape)",
    "pr_count": "PR count",
    "sd_count": "SD count",
    "pd_count": "PD count",
}
# The report's page: its content width, and the figures drawn at it at FIGURE_DPI, so that
# on the page they are not shrunk and their smallest text (8 pt = 11.1 px) stays readable.
PAGE_WIDTH_PX = 1320
FIGURE_DPI = 100
PAGE_WIDTH_IN = PAGE_WIDTH_PX / FIGURE_DPI
SMALLEST_FONT_PT = 8
# The bundled patient-level models in words.
MODEL_WORDS = {
    "hpfs_weibull": "Weibull HPFS",
    "response_logistic": "logistic non-response",
    "response_ordinal": "ordinal PR < SD < PD",
}
# Survival families as a reader meets them.
FAMILY_WORDS = {"weibull": "Weibull", "mspline": "M-spline (flexible)",
                "exponential": "exponential", "gompertz": "Gompertz",
                "lognormal": "log-normal", "loglogistic": "log-logistic"}  # fmt: skip
MODEL_SHORT = {"hpfs_weibull": "Weibull", "response_logistic": "logistic",
               "response_ordinal": "ordinal"}  # fmt: skip


def label(quantity: str) -> str:
    """A quantity's short name: 'HR, HTB > 25%'; a bundled covariate's ratio in a model
    other than the paper's ('HR, Ki-67 > 10%') likewise; else the name itself."""
    if quantity in QUANTITY_LABELS:
        return QUANTITY_LABELS[quantity]
    covariate = quantity[3:]
    if quantity[:3] in COVARIATE_RATIOS and covariate in COVARIATE_LEVELS:
        return f"{COVARIATE_RATIOS[quantity[:3]]}, {COVARIATE_LEVELS[covariate][1]}"
    return quantity


def statistic_words(statistic: str) -> str:
    return STATISTIC_WORDS.get(statistic, label(statistic))


def group_words(group: str) -> str:
    """'htb_gt25=1' as 'HTB > 25%'; any other group label as it is."""
    column, _, level = group.partition("=")
    if column in COVARIATE_LEVELS and level in ("0", "1"):
        return COVARIATE_LEVELS[column][int(level)]
    return group


def outcome_words(time_column: str | None) -> str:
    """The y axis of a survival curve: 'hepatic progression-free' for the bundled column."""
    return OUTCOME_WORDS.get(time_column or "", "event-free")


def long_label(quantity: str) -> str:
    return LONG_LABELS.get(quantity, label(quantity))


def fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if math.isinf(value):
        return "not reached"
    if abs(value) >= 1e5:  # an OR under separation can reach 1e57: never 57 digits
        return f"{value:.3g}"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def fmt_bound(value: float) -> str:
    """`fmt` for interval ends that may be infinite (a ratio whose MLE diverged)."""
    return "inf" if value == math.inf else fmt(value)


def probability(value: float) -> str:
    """A posterior probability to two places, never rounded to certainty: '> 0.99' and
    '< 0.01' rather than '1.00' and '0.00' (Monte Carlo draws cannot show certainty)."""
    if value is None or math.isnan(value):
        return ""
    if value > 0.99:
        return "> 0.99"
    if value < 0.01:
        return "< 0.01"
    return f"{value:.2f}"


def interval(low: float, high: float) -> str:
    return f"{fmt(low)} to {fmt(high)}"

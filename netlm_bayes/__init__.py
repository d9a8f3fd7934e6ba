"""netlm-bayes: Bayesian re-analysis of the rectal NETLM TAE + octreotide LAR cohort.

The Python API (see `netlm_bayes.api`):

    from netlm_bayes import SurvivalModel
    fitted = SurvivalModel("weibull").fit(df, duration_col="time", event_col="status")
    fitted.summary
"""

__version__ = "0.1.0"
__all__ = [
    "ExportedPrior", "FittedModel", "ResponseModel", "SurvivalModel", "borrowing_table",
    "load_pseudo_cohort", "map_prior", "oc_design", "oc_table", "plan", "reread_paper",
    "survival_oc",
]  # fmt: skip


def __getattr__(name: str):
    # Imported on first use, so that reading a model file or the paper never loads PyMC.
    if name in __all__:
        from netlm_bayes import api

        return getattr(api, name)
    raise AttributeError(f"module 'netlm_bayes' has no attribute {name!r}")

"""netlm-bayes: Bayesian re-analysis of the rectal NETLM TAE + octreotide LAR cohort."""

__version__ = "0.1.0"

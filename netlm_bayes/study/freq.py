"""`netlm-bayes freq`: the paper's frequentist analysis of a cohort, written as one run folder
(paper_beside_cohort.csv, freq_km.csv, freq_cox.csv, freq_logistic.csv, freq_response.csv,
manifest.json)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netlm_bayes import paths, runs
from netlm_bayes.evidence import cohort
from netlm_bayes.evidence import paper as published
from netlm_bayes.frequentist import analysis as frequentist_analysis
from netlm_bayes.report import frequentist as freqreport


@dataclass
class FrequentistRun:
    result: frequentist_analysis.FrequentistResult
    paper: published.Paper
    synthetic: bool
    run_dir: Path


def run(data: Path, paper_file: Path | None = None, out: Path | None = None) -> FrequentistRun:
    patients = cohort.read_cohort(data)
    paper_numbers = published.load_paper(paper_file or paths.PAPER_FILE)
    synthetic = cohort.is_synthetic(patients, data)
    result = frequentist_analysis.analyse(patients)
    destination = out or paths.RESULTS_DIR / f"freq-{Path(data).stem}-{runs.timestamp()}"
    with runs.run_folder(destination) as staging:
        result.write_csv(staging)
        freqreport.paper_beside_cohort(result, paper_numbers).assign(
            cohort_file=str(data), synthetic=synthetic
        ).to_csv(staging / "paper_beside_cohort.csv", index=False)
        runs.write_manifest(staging, [data], command_name="freq", synthetic=synthetic)
    return FrequentistRun(result, paper_numbers, synthetic, destination)

"""Run by benchmarks/versus.py in a clone's own environment: the study in one process
(`workers=1`, so that no sampling overlaps), then its compile and pure sampling seconds,
read from every trace's attributes, as one JSON line."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from netlm_bayes.study import reanalysis


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        result = reanalysis.run_study(out=Path(folder) / "study", workers=1)
    traces = list(result.reported.posteriors.values())
    for patient in result.patient_runs.values():
        traces += [patient.fit.trace, *(fit.trace for fit in patient.replicates.values())]
    traces.append(result.next_centre.trace)
    attrs = [trace.attrs for trace in traces]
    print(json.dumps({
        "fits": len(attrs),
        "models": sum(float(a.get("compile_seconds", 0)) > 0 for a in attrs),
        "compile": sum(float(a.get("compile_seconds", 0)) for a in attrs),
        "draws": sum(float(a.get("draw_seconds", 0)) for a in attrs),
    }))  # fmt: skip


if __name__ == "__main__":
    main()

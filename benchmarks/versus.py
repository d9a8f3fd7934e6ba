"""`make bench-versus BASE=<commit>`: this commit's `make fit` beside an older commit's,
measured in one run on one machine, written to benchmarks/versus.md.

- **cold**: a fresh clone of each commit with every cache empty (pip's, uv's, PyTensor's,
  numba's, matplotlib's), timed from `make fit` to its end: creating the virtual
  environment, installing the lock, importing, compiling and the whole study.
- **warm**: `make fit` again in the same clones, its caches kept, as a user's second run.
- Runs alternate, base then head, --reps times, and each figure is the median; the ratio is
  head ÷ base. No run reads a number measured on another machine.
- **the floor** of head's warm `make fit`: importing the package, plus each model's
  compilation (from its warm cache), plus the pure sampling time of every fit (all 69),
  added up, in one process so that nothing overlaps (not a strict bound: two processes can
  overlap one model's compilation with another's sampling).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import ROOT, measure

HERE = Path(__file__).parent
STATES = ("cold", "warm")


def empty_caches(folder: Path) -> dict:
    """An environment whose install and compiler caches all start empty in `folder`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(
        PIP_NO_CACHE_DIR="1",
        UV_CACHE_DIR=str(folder / "uv"),
        PYTENSOR_FLAGS=f"base_compiledir={folder / 'pytensor'}",
        NUMBA_CACHE_DIR=str(folder / "numba"),
        MPLCONFIGDIR=str(folder / "matplotlib"),
        XDG_CACHE_HOME=str(folder / "cache"),
    )
    return env


def clone(commit: str, where: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(where)], check=True)
    subprocess.run(["git", "-C", str(where), "checkout", "--quiet", commit], check=True)
    return where


def time_fit(folder: Path, env: dict, log: Path) -> float:
    measured = measure(["make", "fit"], env, cwd=folder, log=log)
    if measured.returncode != 0:
        sys.exit(f"make fit failed in {folder}: see {log}")
    return measured.seconds


def floor(folder: Path, env: dict) -> dict:
    """Head's floor, measured in its own environment (warm caches)."""
    python = str(folder / ".venv" / "bin" / "python")
    started = time.perf_counter()
    subprocess.run([python, "-c", "import netlm_bayes.study.reanalysis"], env=env, check=True)
    imports = time.perf_counter() - started
    script = HERE / "floor_parts.py"
    out = subprocess.run(
        [python, str(script)], env=env, cwd=folder, check=True, capture_output=True, text=True
    )
    parts = json.loads(out.stdout.strip().splitlines()[-1])
    return {"imports": imports, **parts, "floor": imports + parts["compile"] + parts["draws"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the older commit")
    parser.add_argument("--head", default="HEAD")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    commits = {
        name: subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref],
                             check=True, capture_output=True, text=True).stdout.strip()
        for name, ref in (("base", args.base), ("head", args.head))
    }  # fmt: skip
    seconds: dict[tuple[str, str], list[float]] = {}
    work = Path(tempfile.mkdtemp(prefix="bench-versus-"))
    logs = HERE / ".work" / "logs"
    try:
        for rep in range(1, args.reps + 1):
            for name, commit in commits.items():
                folder = clone(commit, work / f"{name}-{rep}")
                env = empty_caches(work / f"caches-{name}-{rep}")
                for state in STATES:
                    log = logs / f"versus_{name}_{state}_rep{rep}.log"
                    took = time_fit(folder, env, log)
                    seconds.setdefault((name, state), []).append(took)
                    print(f"rep {rep}: {name} ({commit}) {state}: {took:.1f} s", flush=True)
                if name == "head" and rep == args.reps:
                    head_floor = floor(folder, env)
                if rep < args.reps:
                    shutil.rmtree(folder)
        write(commits, seconds, head_floor, args.reps)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write(commits: dict, seconds: dict, head_floor: dict, reps: int) -> None:
    median = {key: statistics.median(values) for key, values in seconds.items()}
    rows = [
        f"| {state} | {median['base', state]:.1f} s | {median['head', state]:.1f} s | "
        f"{median['head', state] / median['base', state]:.2f}× | "
        f"{', '.join(f'{v:.1f}' for v in seconds['base', state])} | "
        f"{', '.join(f'{v:.1f}' for v in seconds['head', state])} |"
        for state in STATES
    ]
    warm = median["head", "warm"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    text = "\n".join([
        "# `make fit`, this commit beside an older one",
        "",
        f"Written by `make bench-versus` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f": base {commits['base']}, head {commits['head']}; {_cpu()}; {machine}.",
        f"Medians of {reps} runs, alternating base and head. Cold: a fresh clone, every install "
        "and compiler cache empty. Warm: `make fit` again in the same clone.",
        "",
        "| make fit | base | head | head ÷ base | base runs (s) | head runs (s) |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "### The floor of head's warm `make fit`",
        "",
        "| part | seconds |",
        "|---|---|",
        f"| importing netlm_bayes.study.reanalysis | {head_floor['imports']:.1f} |",
        f"| compiling each of {head_floor['models']} models (warm cache) | "
        f"{head_floor['compile']:.1f} |",
        f"| pure sampling, all {head_floor['fits']} fits added up | {head_floor['draws']:.1f} |",
        f"| **floor** | **{head_floor['floor']:.1f}** |",
        f"| warm `make fit` (median above) | {warm:.1f} |",
        f"| **warm ÷ floor** | **{warm / head_floor['floor']:.2f}×** |",
        "",
    ])  # fmt: skip
    (HERE / "versus.md").write_text(text)
    payload = {"commits": commits, "seconds": {f"{k[0]} {k[1]}": v for k, v in seconds.items()},
               "floor": head_floor}  # fmt: skip
    (HERE / "versus.json").write_text(json.dumps(payload, indent=2))
    print(text)


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()

"""Acceptance: ``streamcv image DIR --pipeline crowd --json`` on the 40 annotated crowd images.

Run the way a user runs it: the MCNN weights copied into a fresh ``$STREAMCV_HOME`` model store,
the CLI in a subprocess. The counts are compared with the annotated head counts (MAE, Spearman
rank correlation) and with the counts measured when this test was written (``GOLDEN``): a
regression in loading, preprocessing, resizing or summing fails it. The same run with a
freshly initialised MCNN (Keras's default initialisation, written in Keras's file layout) must
fail the check, which proves that the published weights are really what produces the counts.

Measured (published weights, input_scale 1.0): MAE 666.9 people per image, Spearman 0.554. These
images (UCF-CC-50: 96-4633 people) are far denser than MCNN's ShanghaiTech B training set, so it
undercounts the densest ones heavily; ranking is moderate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from crowd_media import mae, spearman, write_keras_mcnn

ROOT = Path(__file__).resolve().parents[3]
GOLDEN_FILE = Path(__file__).with_name("golden_mcnn_counts.json")
MEASURED_MAE = 666.9
MEASURED_RHO = 0.554


def run_cli(images: Path, *, home: Path, pipeline: str = "crowd") -> dict[str, float]:
    env = {**os.environ, "STREAMCV_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-m", "streamcv", "image", str(images), "--pipeline", pipeline,
         "--json", "--no-db"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    docs = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {Path(d["path"]).name: float(d["stages"]["crowd"]["count"]) for d in docs}


def check(counts: dict[str, float], truth: dict[str, int]) -> list[str]:
    """Everything that is off compared with the measured accuracy (empty: all good)."""
    problems = []
    if set(counts) != set(truth):
        problems.append(f"images differ: {sorted(set(counts) ^ set(truth))}")
        return problems
    names = sorted(truth)
    pred = np.array([counts[n] for n in names])
    gt = np.array([truth[n] for n in names])
    err, rho = mae(pred, gt), spearman(pred, gt)
    if rho < MEASURED_RHO - 0.03:
        problems.append(f"Spearman {rho:.3f} < {MEASURED_RHO - 0.03:.3f}")
    if err > MEASURED_MAE * 1.03:
        problems.append(f"MAE {err:.1f} > {MEASURED_MAE * 1.03:.1f}")
    golden = json.loads(GOLDEN_FILE.read_text())
    off = [n for n in names if abs(counts[n] - golden[n]) > max(0.5, 0.02 * golden[n])]
    if off:
        problems.append(f"{len(off)} counts differ from the golden counts by > 2 %: "
                        + ", ".join(f"{n} {counts[n]:.1f} (golden {golden[n]:.1f})"
                                    for n in off[:5]))
    return problems


@pytest.mark.slow
def test_published_weights_reach_the_measured_accuracy(
        model_home: Path, crowd_dir: Path, crowd_truth: dict[str, int]) -> None:
    counts = run_cli(crowd_dir / "images", home=model_home)
    assert check(counts, crowd_truth) == []


@pytest.mark.slow
def test_an_untrained_network_fails_the_same_check(
        tmp_path: Path, model_home: Path, crowd_dir: Path, crowd_truth: dict[str, int]) -> None:
    weights = write_keras_mcnn(tmp_path / "untrained_mcnn.h5", seed=1)
    pipeline = tmp_path / "crowd_untrained.yaml"
    pipeline.write_text(
        "name: crowd_untrained\nstages:\n  - type: crowd\n"
        f"    model: mcnn_shanghaitech_b\n    weights: {weights}\n")
    counts = run_cli(crowd_dir / "images", home=model_home, pipeline=str(pipeline))
    problems = check(counts, crowd_truth)
    assert any(p.startswith("Spearman") for p in problems), problems  # measured: -0.09
    assert any(p.startswith("MAE") for p in problems), problems  # measured: 901
    assert any("golden" in p for p in problems), problems

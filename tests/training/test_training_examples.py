"""The training examples run end to end (tiny settings: accuracies above chance, not their
full-run accuracies)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("optax")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name, *args):
    result = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                            text=True, timeout=600, env=dict(os.environ, MPLBACKEND="Agg"))
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_yinyang_training_example(tmp_path):
    out = run_example("yinyang_training.py", "--epochs", "2", "--hidden", "20",
                      "--engine-samples", "6", "--output", str(tmp_path))
    accuracy = float(re.search(r"test accuracy ([\d.]+)", out).group(1))
    assert accuracy > 0.5                                     # chance: 1/3
    same = float(re.search(r"same class as the exact model for ([\d.]+) %", out).group(1))
    assert same >= 50.0
    assert (tmp_path / "yinyang_training.png").read_bytes()[:4] == b"\x89PNG"
    import nir
    graph = nir.read(tmp_path / "yinyang.nir")
    assert graph.nodes["hidden->output"].weight.shape == (3, 20)


def test_yinyang_bss2_mock_example(tmp_path):
    """Two epochs of the exact model, then one short in-the-loop epoch on the mock chip.
    Both the model and its weights placed on the mock classify above chance (1/3): on 200
    test samples, 0.40 or more happens by chance with probability ~3 %. (Whether the short
    in-the-loop run improves the mock is too noisy to test at this size.)"""
    out = run_example("yinyang_bss2_mock.py", "--model-epochs", "2", "--loop-epochs", "1",
                      "--loop-samples", "64", "--test-samples", "200", "--hidden", "20",
                      "--output", str(tmp_path))
    model, mock = map(float, re.search(
        r"ideal model ([\d.]+), the same weights on the mock ([\d.]+)", out).groups())
    assert model > 0.55
    assert mock > 0.40
    assert re.search(r"after 1 in-the-loop epochs: mock [\d.]+", out)
    assert "BrainScaleS-2 placement: 23 of 512 neuron circuits" in out
    assert (tmp_path / "yinyang_bss2_mock.png").read_bytes()[:4] == b"\x89PNG"

"""examples/hardware_classification.py runs on the mock, classifies and writes its plot."""
import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hardware_classification.py"


def test_hardware_classification_example(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)], capture_output=True,
                            text=True, timeout=600, env=dict(os.environ, MPLBACKEND="Agg"))
    assert result.returncode == 0, result.stderr[-2000:]
    accuracies = dict(re.findall(r"(\w+) accuracy: ([\d.]+)", result.stdout))
    assert set(accuracies) == {"ideal", "mock"}
    assert all(float(a) > 0.6 for a in accuracies.values())     # chance: 1/3
    assert "BrainScaleS-2 placement: 3 of 512 neuron circuits" in result.stdout
    png = tmp_path / "hardware_classification.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

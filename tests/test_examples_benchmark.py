"""benchmarks/examples_benchmark.py on one small example: every variant runs and is timed,
the table and its RESULTS.md section are written. No timing is asserted."""
import os
import re
import subprocess
import sys

from .conftest import HAVE_NEST

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks",
                      "examples_benchmark.py")


def test_one_example_timed_in_every_variant(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# title\n\n<!-- BEGIN other -->\nkept\n<!-- END other -->\n")
    proc = subprocess.run([sys.executable, SCRIPT, "--examples", "small_network.py",
                           "--results", str(results)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = re.search(r"^\| small_network\.py \| (.*) \|$", proc.stdout, re.M).group(1).split(" | ")
    nest, cold, warm = row[:3]
    assert float(cold) > 0 and float(warm) > 0
    assert (float(nest) > 0) if HAVE_NEST else nest == "not installed"
    text = results.read_text()
    assert "kept" in text and "<!-- BEGIN examples -->" in text and "small_network.py" in text


def test_unknown_example_is_refused():
    proc = subprocess.run([sys.executable, SCRIPT, "--examples", "no_such_example.py"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no_such_example.py" in proc.stderr


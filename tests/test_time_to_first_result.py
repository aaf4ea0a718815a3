"""benchmarks/time_to_first_result.py on a small VA network: the three first runs (empty cache,
warm cache, edited structure) are measured and the summary section is written next to the
other sections. No timing is asserted."""
import os
import re
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks",
                      "time_to_first_result.py")


def test_va_first_runs_summarised_in_their_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# title\n\n<!-- BEGIN other -->\nkept\n<!-- END other -->\n")
    proc = subprocess.run([sys.executable, SCRIPT, "--skip", "examples,output", "--va-n", "200",
                           "--edited-n", "220", "--va-time", "50", "--results", str(results)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = results.read_text()
    assert "kept" in text and "<!-- BEGIN time-to-first-result -->" in text
    first = re.search(r"empty cache ([0-9.]+) s \(([0-9.]+) s of it compiling\), warm cache "
                      r"([0-9.]+) s", text)
    assert first and all(float(value) > 0 for value in first.groups())
    assert re.search(r"with 220 cells instead of 200, cache warm .*first run [0-9.]+ s", text)


def test_unknown_part_is_refused():
    proc = subprocess.run([sys.executable, SCRIPT, "--skip", "everything"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "everything" in proc.stderr

"""benchmarks/gpu_suite.py: the trace summary on a made-up trace, and a dry run on the CPU
(what the device run does, at tiny sizes): the JSON it leaves, a case skipped at the deadline,
the report of two saved runs and its RESULTS.md section. No timing is asserted."""
import gzip
import json
import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "gpu_suite.py")
sys.path.insert(0, os.path.dirname(SCRIPT))
import gpu_suite  # noqa: E402


def test_trace_summary_counts_events_per_step_and_busy_time(tmp_path):
    run_dir = tmp_path / "plugins" / "profile" / "run"
    run_dir.mkdir(parents=True)
    events = [{"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "/device:GPU:0"}},
              {"ph": "M", "name": "process_name", "pid": 2, "args": {"name": "/host:CPU"}},
              # device: two overlapping kernels (0-10, 5-15) and one after a gap (20-30)
              {"ph": "X", "pid": 1, "name": "fusion_a", "ts": 0, "dur": 10},
              {"ph": "X", "pid": 1, "name": "fusion_a", "ts": 5, "dur": 10},
              {"ph": "X", "pid": 1, "name": "fusion_b", "ts": 20, "dur": 10},
              {"ph": "X", "pid": 2, "name": "run", "ts": 0, "dur": 40},
              {"ph": "i", "pid": 2, "name": "marker", "ts": 3}]
    with gzip.open(run_dir / "perfetto_trace.json.gz", "wt") as f:
        json.dump({"traceEvents": events}, f)
    summary = gpu_suite.summarise_trace(str(tmp_path), n_steps=2)
    device = summary["processes"]["/device:GPU:0"]
    assert device["events"] == 3 and device["events_per_step"] == 1.5
    assert device["busy_us"] == 25.0 and device["span_us"] == 30.0
    assert [(t["name"], t["count"], t["total_us"]) for t in device["top"]] == [
        ("fusion_a", 2, 20.0), ("fusion_b", 1, 10.0)]
    assert summary["processes"]["/host:CPU"]["busy_us"] == 40.0


def run_suite(out, *args):
    proc = subprocess.run([sys.executable, SCRIPT, "--quick", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((out / "gpu_suite.json").read_text())


def test_dry_run_on_the_cpu(tmp_path):
    saved = run_suite(tmp_path / "out", "--only", "va_coba_4000", "--deadline-s", "300")
    assert saved["env"]["backend"] == "cpu"
    va = saved["cases"]["va_coba_4000"]
    assert va["status"] == "ok" and va["size"] == 500 and va["synapses"] > 0
    assert va["spikes"] > 0 and va["run_per_bio_s"] > 0
    # no time left: the case is skipped, not started
    late = run_suite(tmp_path / "late", "--only", "lif1m", "--deadline-s", "1")
    assert late["cases"]["lif1m"]["status"] == "skipped"
    results = tmp_path / "RESULTS.md"
    results.write_text("# title\n\n<!-- BEGIN other -->\nkept\n<!-- END other -->\n")
    subprocess.run([sys.executable, SCRIPT, "--from-json",
                    f"{tmp_path / 'out' / 'gpu_suite.json'},{tmp_path / 'late' / 'gpu_suite.json'}",
                    "--write-results", str(results)], check=True, capture_output=True)
    text = results.read_text()
    assert "kept" in text and "<!-- BEGIN gpu -->" in text and "## GPU" in text
    assert "| va_coba | 500 |" in text
    assert "Not measured: lif1m: skipped" in text

"""benchmarks/suite.py at a tiny size on pyNN.jax only: the script runs every case in its own
subprocess and reports each column; figures that have an independent value are checked
against it (synapse counts of the fixed in-degree networks, the rate of the LIF population
from the closed-form interspike interval). No timing is asserted."""
import json
import math
import os
import subprocess
import sys

import pytest

from .conftest import needs_nest

SUITE = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "suite.py")
WARMUP_MS, BIO_MS = 5.0, 50.0
VA_INDEGREE = 20
LIF_SIZE = 400


def run_suite(tmp_path, *extra):
    json_file = tmp_path / "rows.json"
    proc = subprocess.run(
        [sys.executable, SUITE, "--no-nest", "--json", str(json_file), "--markdown",
         "--sizes", "100,200", "--va-probability-max", "100", "--va-indegree", str(VA_INDEGREE),
         "--brunel-size", "250", "--lif-size", str(LIF_SIZE), "--bio-ms", str(BIO_MS),
         "--lif-bio-ms", str(BIO_MS), "--brunel-bio-ms", str(BIO_MS), "--warmup-ms",
         str(WARMUP_MS), "--brunel-warmup-ms", str(WARMUP_MS), *extra],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, json.loads(json_file.read_text())["rows"]


@pytest.fixture(scope="module")
def suite_output(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("suite")
    results = tmp_path / "RESULTS.md"
    results.write_text("# title\n\n<!-- BEGIN coba -->\nkept\n<!-- END coba -->\n")
    stdout, rows = run_suite(tmp_path, "--write-results", str(results))
    reprinted = subprocess.run([sys.executable, SUITE, "--from-json", str(tmp_path / "rows.json"),
                                "--markdown"], capture_output=True, text=True, check=True).stdout
    assert reprinted == stdout      # the saved results print the same report
    return stdout, rows, results.read_text()


def lif_closed_form_rate(i_offset, start_ms, stop_ms, cm=1.0, tau_m=20.0, tau_refrac=0.1,
                         theta=15.0):
    """Mean rate (Hz) in (start_ms, stop_ms] of PyNN-default IF_curr_exp cells starting at
    rest at 0 with constant currents ``i_offset`` (nA): the k-th spike at k tau ln(RI / (RI -
    theta)) + (k - 1) tau_refrac, theta the threshold above rest (mV), R = tau_m / cm (MOhm)."""
    count = 0
    for current in i_offset:
        drive = current * tau_m / cm
        if drive <= theta:
            continue
        interval = tau_m * math.log(drive / (drive - theta)) + tau_refrac
        count += (math.floor((stop_ms + tau_refrac) / interval)
                  - math.floor((start_ms + tau_refrac) / interval))
    return count / len(i_offset) / ((stop_ms - start_ms) / 1000.0)


def test_every_case_runs_and_reports_its_columns(suite_output):
    stdout, rows, _ = suite_output
    assert [(r["case"], r["size"], r["backend"]) for r in rows] == [
        ("va_coba", 100, "jax"), ("va_coba", 200, "jax"), ("va_cuba", 100, "jax"),
        ("va_cuba", 200, "jax"), ("brunel", 250, "jax"), ("lif1m", LIF_SIZE, "jax")]
    for row in rows:
        result = row["result"]
        assert result["status"] == "ok", row
        for phase in ("build", "first_short_run", "run", "warm_short_run", "get_data"):
            assert result["timings"][phase] > 0, (row["case"], phase)
        assert math.isfinite(result["compile_s"])
        assert result["run_per_bio_s"] > 0 and result["us_per_step"] > 0
        assert result["info"]["peak_rss_mb"] >= result["info"]["rss_after_build_mb"] > 0
        assert result["spikes"] > 0 and result["rate_hz"] > 0, row["case"]
    for column in ("build (s)", "compile (s)", "run per bio s (s)", "get_data (s)",
                   "peak RSS (MB)", "exc rate (Hz)", "syn. events per bio s (M)"):
        assert column in stdout
    assert stdout.startswith("## Benchmark suite")
    assert "- machine:" in stdout and "- versions: jax" in stdout


def test_synapse_counts_and_events_follow_the_connectivity(suite_output):
    _, rows, _ = suite_output
    by_case = {(r["case"], r["size"]): r for r in rows}
    # above --va-probability-max: in-degrees Binomial(n_pre, K / N), VA_INDEGREE on average
    cuba = by_case["va_cuba", 200]
    assert cuba["indegree"] == VA_INDEGREE
    result = cuba["result"]
    mean = 200 * VA_INDEGREE
    assert abs(result["synapses"] - mean) < 5 * math.sqrt(mean)     # 5 standard deviations
    # CUBA has no stimulus: every synapse leaves an excitatory (160) or inhibitory (40) cell
    sizes = {"exc": 160, "inh": 40}
    assert sum(result["out_degree"][k] * n for k, n in sizes.items()) == pytest.approx(
        result["synapses"])
    assert sum(result["spikes_in_run"].values()) <= result["spikes"]
    assert result["syn_events_per_bio_s"] == pytest.approx(
        sum(result["spikes_in_run"][k] * result["out_degree"][k] for k in sizes)
        / (BIO_MS / 1000.0))
    assert by_case["va_coba", 100]["indegree"] is None            # 2 % probability
    # Brunel at 250 cells: 200 E + 50 I, in-degrees 20 + 5, plus one drive input per cell
    assert by_case["brunel", 250]["result"]["synapses"] == 250 * (20 + 5) + 250
    lif = by_case["lif1m", LIF_SIZE]["result"]
    assert lif["synapses"] == 0 and lif["syn_events_per_bio_s"] == 0
    assert lif["ns_per_syn_event"] is None


def test_lif_rate_matches_the_closed_form(suite_output):
    _, rows, _ = suite_output
    lif = next(r for r in rows if r["case"] == "lif1m")["result"]
    currents = [0.5 + i / (LIF_SIZE - 1) for i in range(LIF_SIZE)]   # networks.LIF_I_OFFSET
    expected = lif_closed_form_rate(currents, WARMUP_MS, WARMUP_MS + BIO_MS)   # run(T)
    # spikes land on the 0.1 ms grid, so each interval is up to one step longer
    assert lif["rate_hz"] == pytest.approx(expected, rel=0.03)


def test_results_file_gets_the_suite_section_and_keeps_the_others(suite_output):
    stdout, _, text = suite_output
    assert "<!-- BEGIN coba -->\nkept\n<!-- END coba -->" in text
    assert text.count("<!-- BEGIN suite -->") == 1 and "<!-- END suite -->" in text
    assert stdout.strip() in text


def test_a_worker_past_the_timeout_is_reported_not_fatal(tmp_path):
    stdout, rows = run_suite(tmp_path, "--cases", "lif1m", "--timeout", "0.5")
    assert [r["result"]["status"] for r in rows] == ["timeout"]
    assert "| timeout |" in stdout


@needs_nest
def test_nest_skips_cases_above_its_cell_limit(tmp_path):
    json_file = tmp_path / "rows.json"
    proc = subprocess.run(
        [sys.executable, SUITE, "--cases", "lif1m", "--lif-size", "300", "--lif-bio-ms", "5",
         "--warmup-ms", "1", "--nest-max-cells", "299", "--json", str(json_file)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = json.loads(json_file.read_text())["rows"]
    assert [(r["backend"], r["result"]["status"]) for r in rows] == [
        ("jax", "ok"), ("nest", "skipped")]
    assert "skipped (N > --nest-max-cells 299)" in proc.stdout


def test_precise_benchmark_runs_both_modes_and_writes_its_section(tmp_path):
    """benchmarks/precise_benchmark.py at a tiny size, pyNN.jax only: a row per mode with
    cells firing in both, and its section written into the results file."""
    results = tmp_path / "RESULTS.md"
    script = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks",
                          "precise_benchmark.py")
    proc = subprocess.run([sys.executable, script, "--n", "400", "--time", "100",
                           "--simulators", "jax", "--results", str(results)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {line.split("|")[2].strip(): [cell.strip() for cell in line.split("|")[3:-1]]
            for line in proc.stdout.splitlines() if line.startswith("| jax |")}
    assert set(rows) == {"on_grid", "off_grid"}
    assert min(float(rows[mode][4]) for mode in rows) > 0
    assert "## Precise spike times" in results.read_text()


def test_results_writer_replaces_its_section_in_place_and_keeps_everything_else(tmp_path):
    """va_benchmark.write_results (used by the connectors, output and precise scripts): the
    named section's text is replaced where it stands, a new one is appended, and text outside
    the markers (hand-written notes, other sections) stays as it was."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks"))
    try:
        import va_benchmark
    finally:
        sys.path.pop(0)
    path = tmp_path / "RESULTS.md"
    before = ("# head\n\nnotes before\n<!-- BEGIN a -->\nold a\n<!-- END a -->\n"
              "notes about a\n\n## by hand\ntext\n")
    path.write_text(before)
    va_benchmark.write_results(path, {"a": "<!-- BEGIN a -->\nnew a\n<!-- END a -->",
                                      "b": "<!-- BEGIN b -->\nb\n<!-- END b -->"})
    assert path.read_text() == (before.replace("old a", "new a")
                                + "\n<!-- BEGIN b -->\nb\n<!-- END b -->\n")


def test_processes_benchmark_runs_one_and_two_processes_with_the_same_spikes(tmp_path):
    """benchmarks/processes_benchmark.py at a tiny size: a row per number of processes for
    each network, the same rates in both, and its section written into the results file."""
    results = tmp_path / "RESULTS.md"
    script = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks",
                          "processes_benchmark.py")
    proc = subprocess.run([sys.executable, script, "--processes", "1", "2", "--n", "200",
                           "--time", "50", "--microcircuit-scale", "0.02",
                           "--microcircuit-time", "120", "--results", str(results)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [[cell.strip() for cell in line.split("|")[1:-1]]
            for line in proc.stdout.splitlines() if line.startswith("| 1 |")
            or line.startswith("| 2 |")]
    assert [row[0] for row in rows] == ["1", "2", "1", "2"]          # VA, then microcircuit
    assert rows[0][5] == rows[1][5] and float(rows[0][5]) > 0       # exc rate, Hz
    assert rows[2][10] == rows[3][10] and "disagree" not in proc.stdout  # L4E rate, Hz
    assert int(rows[3][3]) < int(rows[2][3]) == int(rows[2][2])   # synapses held per process
    assert "## Several processes" in results.read_text()

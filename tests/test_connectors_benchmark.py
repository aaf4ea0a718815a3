"""benchmarks/connectors.py at a tiny size: every worker runs in its own subprocess and
reports its columns, connection counts are those the connectors define, and the table goes
into its own section of a results file, keeping the others. No timing is asserted."""
import json
import os
import subprocess
import sys

from .conftest import needs_nest

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "connectors.py")
N, K = 200, 5
CONNECTORS = "fixed_total_number,fixed_number_pre,fixed_number_post,distance_grid3d,from_file"


def run_script(tmp_path, simulators, connectors):
    results = tmp_path / "RESULTS.md"
    results.write_text("# title\n\n<!-- BEGIN coba -->\nkept\n<!-- END coba -->\n")
    json_file = tmp_path / "rows.json"
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--sizes", str(N), "--indegree", str(K), "--repeat", "1",
         "--simulators", simulators, "--connectors", connectors, "--json", str(json_file),
         "--write-results", str(results)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, json.loads(json_file.read_text()), results.read_text()


def test_columns_counts_and_results_section(tmp_path):
    stdout, rows, text = run_script(tmp_path, "jax", CONNECTORS)
    assert [(r["connector"], r["simulator"], r["status"]) for r in rows] == [
        (c, "jax", "ok") for c in CONNECTORS.split(",")]
    by_name = {r["connector"]: r for r in rows}
    for name in ("fixed_total_number", "fixed_number_pre", "fixed_number_post", "from_file"):
        assert by_name[name]["connections"] == N * K, name
    grid3d = by_name["distance_grid3d"]
    assert grid3d["n_pre"] == grid3d["n_post"] == 6 ** 3          # 200 rounded to a cube
    for row in rows:
        assert row["build_s"] > 0 and row["per_s"] > 0
        assert row["peak_mb"] >= 0 and row["tables_mb"] >= 0
    for column in ("connector", "connections", "pyNN.jax build (s)", "pyNN.jax M conn/s",
                   "pyNN.jax tables (MB)", "pyNN.jax peak (MB)",
                   "pyNN.jax build overhead (B/conn)"):
        assert f"| {column} |" in stdout.splitlines()[-len(rows) - 2]
    assert "<!-- BEGIN coba -->\nkept\n<!-- END coba -->" in text
    assert text.count("<!-- BEGIN connectors -->") == 1 and "<!-- END connectors -->" in text
    assert stdout.strip() in text


@needs_nest
def test_side_by_side_with_nest(tmp_path):
    stdout, rows, _ = run_script(tmp_path, "jax,nest", "fixed_number_pre")
    assert [(r["simulator"], r["status"], r["connections"]) for r in rows] == [
        ("jax", "ok", N * K), ("nest", "ok", N * K)]
    header = stdout.splitlines()[-3]
    assert "| pyNN.nest M conn/s |" in header and "| speed-up vs NEST |" in header

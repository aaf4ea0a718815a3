"""benchmarks/output_benchmark.py at a tiny size on pyNN.jax only: the worker's checks of the
data (every given spike read back, each train's cell found by id_to_index), the table and
the RESULTS.md section it writes, keeping the others. No timing is asserted."""
import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "output_benchmark.py")
CELLS, SPIKES_PER_CELL = 60, 4


def test_tiny_run_reads_back_every_spike_and_writes_its_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# title\n\n<!-- BEGIN coba -->\nkept\n<!-- END coba -->\n")
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--simulators", "jax", "--cells", str(CELLS),
         "--spikes-per-cell", str(SPIKES_PER_CELL), "--bio-ms", "100", "--nix-cells", "3",
         "--profile-cells", "3", "--nix-rounds", "1", "--results", str(results)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    spikes = CELLS * SPIKES_PER_CELL
    assert f"| spikes (iterated / expected) | {spikes} / {spikes} |" in proc.stdout
    assert "| spikes off their given time | 0 |" in proc.stdout
    assert "| id_to_index(channel_id) of every train right | yes |" in proc.stdout
    for row in ("get_data (s)", "iterate every train + id_to_index (s)", "write_data pickle (s)",
                "write_data NIX, N cells (s)"):
        assert f"| {row} |" in proc.stdout
    assert "- profile of nix, pyNN.jax, 3 cells" in proc.stdout
    text = results.read_text()
    assert "kept" in text and text.count("<!-- BEGIN output -->") == 1
    assert "<!-- END output -->" in text

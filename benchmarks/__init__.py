"""Speed and memory measurements, side by side in one process (``python -m benchmarks.acgd_vs_cgds``)."""

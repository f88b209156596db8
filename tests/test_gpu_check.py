"""benchmarks.gpu_check --dry-run: the GPU check's whole plan on the CPU at tiny sizes, with the
report's six keys each holding a measurement or the reason it was skipped."""

import json

from benchmarks import gpu_check


def test_the_dry_run_writes_every_key_with_a_measurement_or_a_reason(tmp_path, capsys):
    out = tmp_path / "dry.json"
    report = gpu_check.main(["--dry-run", "--out", str(out)])
    assert json.loads(out.read_text()).keys() == report.keys() >= set(gpu_check.KEYS)
    for key in gpu_check.KEYS:
        assert "error" not in report[key], (key, report[key])
    # no CUDA here: these say why they did not run
    assert "CUDA" in report["cuda_tests"]["skipped"] and report["cuda_tests"]["command"][-3:] == ["-k", "cuda", "tests"]
    assert "CUDA" in report["peak_memory"]["skipped"] and "CUDA" in report["nccl"]["skipped"]
    # performance.md's promise on the bilinear benchmark, 30 CG iterations read every 4
    assert report["device_reads"]["iterations"] == 30 and report["device_reads"]["reads"] <= 10
    configurations = report["step_seconds"]["configurations"]
    for name in ("ACGD float32", "CGD float32", "Adam float32", "ACGD bfloat16", "ACGD float16, loss scaling"):
        assert configurations[name]["median_seconds"] > 0, name
    assert configurations["Adam float32"]["ratio_to_adam"] == 1.0
    smoke = report["fig9_cifar10_smoke"]
    assert smoke["exit_status"] == 0 and smoke["iterations"] == 3 and smoke["finite"]
    assert "gpu_check on cpu" in capsys.readouterr().out

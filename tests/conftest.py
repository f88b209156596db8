"""Shared test settings: a fixed-size hypothesis profile for CI, deadlines off everywhere, a device fixture."""

import os
import tempfile

import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# trained classifiers of the image metrics go to a folder of this session, not the user's cache
os.environ.setdefault("GAN_EXPERIMENTS_CACHE", tempfile.mkdtemp(prefix="gan-experiments-cache-"))

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]


@pytest.fixture(params=DEVICES)
def device(request):
    """Each test using it runs on the CPU and, where one exists, on a CUDA device."""
    return torch.device(request.param)

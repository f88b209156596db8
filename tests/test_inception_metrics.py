"""FID and the ImageNet Inception Score through torch-fidelity: skipped with a reason when the
weights are missing or unusable, computed from a local weights file when given. No test has the
real weights (nothing is downloaded), so the computation runs on a randomly initialised
Inception-v3 saved in torch-fidelity's file format: the numbers are not ImageNet's, but the
path from images to FID is the one real weights take, and FID's own facts hold for any features."""

import pytest
import torch
from dependencies import required

from gan_experiments.metrics.inception import METRICS, inception_metrics

torch_fidelity = required("torch_fidelity")


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with pytest.MonkeyPatch.context() as patch:  # build it with its random initialisation: no file, no download
        patch.setattr(torch, "load", lambda *args, **kwargs: {})
        patch.setattr(torch.nn.Module, "load_state_dict", lambda self, state, *args, **kwargs: None)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            network = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"], "unused")
            for layer in network.modules():  # He initialisation keeps the 2,048 features from vanishing
                if isinstance(layer, torch.nn.Conv2d):
                    torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(network.state_dict(), path)
    return str(path)


def images(n: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    return (torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1 + shift).clamp(-1, 1)


def test_missing_weights_skip_both_metrics_with_the_fix():
    metrics, skipped = inception_metrics(images(4, 0), images(4, 1), "")
    assert metrics == {} and set(skipped) == set(METRICS)
    assert all("--inception-weights PATH" in reason for reason in skipped.values())


def test_an_unreadable_weights_file_is_a_skip_naming_the_file(tmp_path):
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    metrics, skipped = inception_metrics(images(4, 0), images(4, 1), str(broken))
    assert metrics == {} and all("broken.pth" in reason for reason in skipped.values())


def test_fid_from_a_local_weights_file_is_zero_on_the_same_images_and_grows_with_a_shift(random_weights):
    real = images(8, 0)
    same, _ = inception_metrics(real, real, random_weights, batch_size=8)
    shifted, skipped = inception_metrics(images(8, 1, shift=0.8), real, random_weights, batch_size=8)
    assert skipped == {}
    assert abs(same["fid"]) < 1e-6 * shifted["fid"] and shifted["fid"] > 0
    assert 1 - 1e-6 <= same["inception_score_imagenet"] <= 1008  # exp of a mean KL: between 1 and the classes

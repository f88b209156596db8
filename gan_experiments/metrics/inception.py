r"""FID and the ImageNet Inception Score through torch-fidelity's Inception-v3 (the TensorFlow
2015-12-05 weights the literature's numbers use), from a local weights file or a download.

FID (Heusel et al. 2017) is the Frechet distance of :mod:`.classifier` on the 2,048 pool
features of both image sets; the Inception Score (Salimans et al. 2016) is
:math:`\exp E_x \mathrm{KL}(p(y \mid x) \| p(y))` over the 1,008 ImageNet logits, mean of 10
splits (fewer, of at least 4 images, for fewer than 40 images). Images in [-1, 1] go in as 8-bit RGB (grey images
repeated over three channels);
torch-fidelity resizes them to 299 x 299.

No PyPI package ships the weights (pytorch-fid, torch-fidelity, clean-fid and torchmetrics all
download them at run time; docs/experiments.md, "Data settings and metric definitions"):
``weights`` is a path to torch-fidelity's
``weights-inception-2015-12-05-6726825d.pth``, ``"download"`` to fetch it (needs internet), or
``""``. Whatever stops the computation (no weights, no torch-fidelity, no network, a broken
file) is returned as the reason the metrics were skipped, never raised: a training run must not
fail at its last step because of an evaluation extra.
"""

from __future__ import annotations

import importlib.util
import pickle

import torch
from torch import Tensor

METRICS = ("fid", "inception_score_imagenet")
WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"


class _Images(torch.utils.data.Dataset):
    """Images in [-1, 1] as the uint8 RGB tensors torch-fidelity reads."""

    def __init__(self, images: Tensor) -> None:
        pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        self.pixels = pixels.expand(-1, 3, -1, -1) if pixels.shape[1] == 1 else pixels

    def __len__(self) -> int:
        return self.pixels.shape[0]

    def __getitem__(self, index: int) -> Tensor:
        return self.pixels[index]


def skip_reasons(weights: str) -> dict[str, str] | None:
    """Why FID / IS cannot even be tried (None when they can)."""
    if not weights:
        reason = (
            f"no Inception weights: pass --inception-weights PATH (torch-fidelity's {WEIGHTS_FILE}) or "
            "--inception-weights download where there is internet"
        )
        return dict.fromkeys(METRICS, reason)
    if importlib.util.find_spec("torch_fidelity") is None:
        return dict.fromkeys(
            METRICS, "torch-fidelity is not installed (pip install torch-fidelity, or the project's [fid] extra)"
        )
    return None


def inception_metrics(
    generated: Tensor, real: Tensor, weights: str, *, cuda: bool = False, batch_size: int = 64
) -> tuple[dict[str, float], dict[str, str]]:
    """(metrics, skipped): FID of ``generated`` against ``real`` and the Inception Score of
    ``generated``, or an empty dict and the reason for each metric."""
    skipped = skip_reasons(weights)
    if skipped:
        return {}, skipped
    import torch_fidelity

    options = {} if weights == "download" else {"feature_extractor_weights_path": weights}
    try:
        result = torch_fidelity.calculate_metrics(
            input1=_Images(generated),
            input2=_Images(real),
            fid=True,
            isc=True,
            cuda=cuda,
            batch_size=batch_size,
            verbose=False,
            save_cpu_ram=True,
            isc_splits=max(1, min(10, generated.shape[0] // 4)),
            **options,
        )
    except (OSError, RuntimeError, ValueError, KeyError, pickle.UnpicklingError) as error:
        reason = f"Inception weights {weights!r} could not be used: {type(error).__name__}: {error}"
        return {}, dict.fromkeys(METRICS, reason)
    return {
        "fid": float(result["frechet_inception_distance"]),
        "inception_score_imagenet": float(result["inception_score_mean"]),
    }, {}

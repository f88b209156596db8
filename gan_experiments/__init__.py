"""gan_experiments: Stackelberg GAN, SGAN, proximal training and the ICR paper's experiments on top
of cgd_optim, as TOML configs behind ``python -m gan_experiments``.

A run goes one way: a config (config.py) names a framework, whose registry entry
(frameworks/) builds the data source (data/), the players, their optimizer(s) and batch streams
(streams.py) into a session (session.py); the one training loop (trainer.py) fits it into a run
folder (records.py), evaluating through the data source; the entry's ``finish`` writes the final
metrics and pictures. ``experiment.run`` is that sequence; cli.py parses and hands over to it,
to the main job (main_job.py), the sweep (sweep.py) and the equilibrium test (equilibrium.py).
"""

from importlib import metadata as _metadata

try:  # one version for both packages: the distribution's, which pyproject.toml reads from cgd_optim
    __version__ = _metadata.version("cgd_optim")
except _metadata.PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"

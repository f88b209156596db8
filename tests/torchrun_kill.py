"""The command line, with rank 1 killing itself (SIGKILL) at step KILL_AT_STEP of the first attempt:
run under ``torchrun --max-restarts=1`` by tests/test_torchrun.py."""

import os
import signal
import sys

from gan_experiments import session
from gan_experiments.cli import main

KILL_AT = int(os.environ["KILL_AT_STEP"])
_train_step = session.GameSession.train_step


def train_step(self):
    first_attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") == "0"
    if first_attempt and os.environ.get("RANK") == "1" and self.step_count == KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)
    return _train_step(self)


session.GameSession.train_step = train_step
sys.exit(main(sys.argv[1:]))

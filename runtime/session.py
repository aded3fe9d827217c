"""``Network.run``: compile on first use, reuse the program while the network stays."""
from __future__ import annotations

from typing import Any

import torch

from snnc.runtime.program import AUTO, Program, device_of


def run_network(network, inputs: dict[str, torch.Tensor], time: float, one_step: bool = False,
                **kwargs: Any) -> None:
    """Run ``network`` with its cached program (``backend="auto"``), compiling if needed.

    The program itself recompiles (from the on-disk cache when it can) whenever the
    network's structure or the inputs' dtypes change.
    """
    program = network._program
    if program is None or device_of(network) != program._device:
        program = Program(network, backend=AUTO)
        network._program = program
    program.run(inputs, time, one_step=one_step, **kwargs)

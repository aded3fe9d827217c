"""scikit-learn's bundled 8x8 handwritten digits as a BindsNET-style dataset (offline).

1797 images of 8 x 8 pixels with values 0..16 and labels 0..9 (the UCI "optdigits"
test set that ships inside scikit-learn, so nothing is downloaded; needs the optional
extra ``pip install 'snnc[data]'``). Item ``i`` is a dict ``{"image", "label",
"encoded_image", "encoded_label"}``: the image is a float32 ``[1, 8, 8]`` tensor
``pixel / 16 * intensity`` (in [0, 1] when ``intensity`` is None), the label an
``int``; the encoded entries are the encoders applied to them (None →
:class:`NullEncoder`).

Split (deterministic, no shuffling): the first ``n_train`` samples (default 1297) are
the training set, the remaining ones (default: the last 500) the test set.
"""
from __future__ import annotations

import functools
import numbers

import torch

from snnc.datasets.idx import EncodedImages
from snnc.errors import SnncError

N_SAMPLES = 1797
N_TRAIN = 1297


@functools.lru_cache(maxsize=1)
def _load() -> tuple[torch.Tensor, torch.Tensor]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError("snnc.datasets.Digits needs scikit-learn, which holds the digits: "
                          "pip install 'snnc[data]'") from error
    bunch = load_digits()
    images = torch.from_numpy(bunch.images.round()).to(torch.uint8)
    labels = torch.from_numpy(bunch.target).to(torch.int64)
    return images, labels


class Digits(EncodedImages):
    """``Digits(image_encoder=None, label_encoder=None, train=True, intensity=None,
    n_train=1297)``: the training (first ``n_train``) or test (the rest) samples.
    ``data`` is uint8 ``[N, 8, 8]`` (0..16), ``targets`` int64 ``[N]``."""

    scale = 16.0

    def __init__(self, image_encoder=None, label_encoder=None, train: bool = True,
                 intensity=None, n_train: int = N_TRAIN) -> None:
        super().__init__(image_encoder, label_encoder, intensity)
        if isinstance(n_train, bool) or not isinstance(n_train, numbers.Integral) \
                or not 0 < n_train < N_SAMPLES:
            raise SnncError(f"Digits: n_train must be an int in [1, {N_SAMPLES - 1}], got {n_train!r}")
        self.train, self.n_train = bool(train), int(n_train)
        images, labels = _load()
        part = slice(0, self.n_train) if self.train else slice(self.n_train, None)
        self.data, self.targets = images[part].clone(), labels[part].clone()

"""Datasets and batching (spec section 12), all offline.

``DataLoader`` and ``time_aware_collate`` batch time-major samples ``[T, *shape]`` as
``[T, B, *shape]``. ``Digits`` (scikit-learn's bundled 8x8 digits, ``snnc[data]``),
``MNIST`` and ``FashionMNIST`` (IDX files on disk, read with ``read_idx``) return
BindsNET-style items ``{"image", "label", "encoded_image", "encoded_label"}``.
"""
from snnc.datasets.collate import time_aware_collate
from snnc.datasets.dataloader import DataLoader
from snnc.datasets.digits import Digits
from snnc.datasets.idx import MNIST, FashionMNIST, read_idx

__all__ = ["DataLoader", "time_aware_collate", "Digits", "MNIST", "FashionMNIST", "read_idx"]

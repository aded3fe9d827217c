"""IDX files (the MNIST format) and the MNIST / Fashion-MNIST datasets, read offline.

IDX layout (all integers big-endian): two zero bytes; a type byte (0x08 uint8, 0x09
int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64); a byte ``n`` (number of
dims); ``n`` uint32 sizes; then the values in C order. Gzipped files are recognised by
their own magic bytes, whatever their name.

``MNIST`` and ``FashionMNIST`` are BindsNET-style datasets: item ``i`` is a dict
``{"image", "label", "encoded_image", "encoded_label"}``; the image is a float32
``[1, 28, 28]`` tensor ``pixel / 255 * intensity`` (the value ``ToTensor()`` then
``Lambda(x * intensity)`` gives in BindsNET's examples), the label an ``int``, and the
encoded entries the encoders applied to them (None → :class:`NullEncoder`). Nothing
is downloaded: the four IDX files (optionally ``.gz``) are looked up in ``root``,
``root/<Name>/raw`` (where torchvision puts them), ``root/TorchvisionDatasetWrapper/raw``
(where BindsNET's wrapped datasets put them) and ``root/raw``. Items are bit-identical
to BindsNET's ``MNIST(..., transform=Compose([ToTensor(), Lambda(x * intensity)]))``.
"""
from __future__ import annotations

import gzip
import math
import numbers
import os

import numpy as np
import torch

from snnc.encoding.encoders import NullEncoder
from snnc.errors import SnncError

_TYPES = {0x08: (">u1", torch.uint8), 0x09: (">i1", torch.int8), 0x0B: (">i2", torch.int16),
          0x0C: (">i4", torch.int32), 0x0D: (">f4", torch.float32), 0x0E: (">f8", torch.float64)}


def read_idx(path) -> torch.Tensor:
    """The array stored in the IDX file ``path`` (plain or gzipped) as a tensor of the
    file's dtype and shape."""
    with open(path, "rb") as handle:
        raw = handle.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise SnncError(f"read_idx: {path} is not an IDX file (its first bytes are {raw[:4]!r}; "
                        "expected 0x00 0x00, a type code in 08/09/0B/0C/0D/0E and a dim count)")
    code, ndim = raw[2], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise SnncError(f"read_idx: {path} is truncated inside its header ({ndim} dims)")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    big_endian, torch_dtype = _TYPES[code]
    dtype = np.dtype(big_endian)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise SnncError(f"read_idx: {path} holds {len(raw) - header} bytes of data, but its "
                        f"header (shape {list(shape)}, {dtype.itemsize}-byte values) needs {expected}")
    values = np.frombuffer(raw, dtype=dtype, offset=header).astype(dtype.newbyteorder("="))
    return torch.from_numpy(values.reshape(shape)).to(torch_dtype)


def _encoder(value, name: str, owner: str):
    if value is None:
        return NullEncoder()
    if not callable(value):
        raise SnncError(f"{owner}: {name} must be callable or None, got {value!r} "
                        "(pass root=, train=, ... by keyword)")
    return value


def _intensity(value, owner: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0 \
            or math.isinf(value):
        raise SnncError(f"{owner}: intensity must be a finite number >= 0, got {value!r}")
    return float(value)


class EncodedImages(torch.utils.data.Dataset):
    """Base of the image datasets: ``data`` (uint8 ``[N, H, W]``) and ``targets``
    (int64 ``[N]``), encoders applied per item. Subclasses set ``data``, ``targets``
    and ``scale`` (the pixel value that maps to 1.0)."""

    scale = 255.0

    def __init__(self, image_encoder=None, label_encoder=None, intensity=None) -> None:
        owner = type(self).__name__
        self.image_encoder = _encoder(image_encoder, "image_encoder", owner)
        self.label_encoder = _encoder(label_encoder, "label_encoder", owner)
        self.intensity = _intensity(intensity, owner)
        self.transform = self.target_transform = None

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    def image(self, index) -> torch.Tensor:
        """Item ``index``'s image: float32 ``[1, H, W]``, ``pixel / scale * intensity``."""
        image = self.data[index].to(torch.float32).div(self.scale).unsqueeze(0)
        return image if self.intensity is None else image * self.intensity

    def __getitem__(self, index) -> dict:
        if self.transform is not None:
            image = self.transform(self.data[index].numpy().copy())
        else:
            image = self.image(index)
        label = int(self.targets[index])
        if self.target_transform is not None:
            label = self.target_transform(label)
        return {"image": image, "label": label, "encoded_image": self.image_encoder(image),
                "encoded_label": self.label_encoder(label)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} samples, images {list(self.data.shape[1:])})"


class MNIST(EncodedImages):
    """MNIST from its four IDX files in ``root`` (no download).

    ``MNIST(image_encoder=None, label_encoder=None, root=None, train=True,
    download=False, transform=None, target_transform=None, intensity=None)``: the
    argument order of BindsNET's wrapper; ``root`` may also come first
    (``MNIST("data/mnist", train=False)``). ``transform`` receives the raw image as a
    uint8 numpy array ``[28, 28]`` (what torchvision's ``ToTensor`` accepts, in place
    of torchvision's PIL image); without it the image is ``pixel / 255 * intensity``
    (intensity 1 when None). ``download=True`` is accepted but fetches nothing.
    """

    default_root = None
    how_to_get = ("download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                  "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from an MNIST mirror "
                  "into root (snnc never downloads; torchvision's MNIST(root, download=True), run "
                  "on a machine with internet, leaves them in root/MNIST/raw, which is searched too)")

    def __init__(self, image_encoder=None, label_encoder=None, root=None, train: bool = True,
                 download: bool = False, transform=None, target_transform=None, intensity=None) -> None:
        name = type(self).__name__
        if isinstance(image_encoder, (str, os.PathLike)):
            if root is not None:
                raise SnncError(f"{name}: root given twice ({image_encoder!r} and {root!r})")
            root, image_encoder = image_encoder, None
        super().__init__(image_encoder, label_encoder, intensity)
        if transform is not None and intensity is not None:
            raise SnncError(f"{name}: give transform or intensity, not both (the transform "
                            "receives the raw uint8 image)")
        for label, value in (("transform", transform), ("target_transform", target_transform)):
            if value is not None and not callable(value):
                raise SnncError(f"{name}: {label} must be callable or None, got {value!r}")
        self.transform, self.target_transform = transform, target_transform
        self.train = bool(train)
        root = root if root is not None else self.default_root
        if root is None:
            raise SnncError(f"{name}: give root, the folder holding the IDX files; {self.how_to_get}")
        self.root = os.fspath(root)
        prefix = "train" if self.train else "t10k"
        images = self._find(f"{prefix}-images-idx3-ubyte")
        labels = self._find(f"{prefix}-labels-idx1-ubyte")
        self.data, self.targets = read_idx(images), read_idx(labels).to(torch.int64)
        if self.data.dim() != 3 or self.data.dtype != torch.uint8 or self.targets.dim() != 1 \
                or self.data.shape[0] != self.targets.shape[0]:
            raise SnncError(f"{name}: {images} and {labels} do not hold uint8 images [N, H, W] and "
                            f"N labels (got {list(self.data.shape)} {self.data.dtype} and "
                            f"{list(self.targets.shape)})")

    def _folders(self) -> list[str]:
        return [self.root, os.path.join(self.root, type(self).__name__, "raw"),
                os.path.join(self.root, "TorchvisionDatasetWrapper", "raw"),   # BindsNET's downloads
                os.path.join(self.root, "raw")]

    def _find(self, stem: str) -> str:
        for folder in self._folders():
            for candidate in (stem, stem + ".gz"):
                path = os.path.join(folder, candidate)
                if os.path.isfile(path):
                    return path
        raise FileNotFoundError(
            f"{type(self).__name__}: no {stem} or {stem}.gz in any of {self._folders()}; "
            f"{self.how_to_get}")


class FashionMNIST(MNIST):
    """Fashion-MNIST, same format and arguments as :class:`MNIST`; ``root`` defaults to
    ``/usr/share/datasets/fashion-mnist``, where Debian's ``dataset-fashion-mnist``
    package installs the four gzipped IDX files."""

    default_root = "/usr/share/datasets/fashion-mnist"
    how_to_get = ("install them with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu; "
                  "they land in /usr/share/datasets/fashion-mnist), or put "
                  "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                  "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from "
                  "github.com/zalandoresearch/fashion-mnist (data/fashion) in root")

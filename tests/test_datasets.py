"""Datasets and batching (spec section 12): time_aware_collate, DataLoader, the offline
Digits / MNIST / Fashion-MNIST datasets and the IDX reader."""
from __future__ import annotations

import gzip
import inspect
import struct
import sys
from collections import namedtuple

import numpy as np
import pytest
import torch

from snnc import SnncError
from snnc.datasets import MNIST, DataLoader, Digits, FashionMNIST, read_idx, time_aware_collate
from snnc.encoding import NullEncoder, PoissonEncoder


# --- time_aware_collate ------------------------------------------------------------------

def test_collate_stacks_tensors_along_dim_one():
    a, b = torch.zeros(5, 2, 3), torch.ones(5, 2, 3)
    out = time_aware_collate([a, b])
    assert out.shape == (5, 2, 2, 3) and torch.equal(out[:, 1], b) and torch.equal(out[:, 0], a)
    assert time_aware_collate([torch.zeros(4, 3)] * 3).shape == (4, 3, 3)
    ramp = time_aware_collate([torch.arange(4), torch.arange(4) + 10])       # [T] -> [T, B, 1]
    assert ramp.shape == (4, 2, 1) and ramp[:, 1, 0].tolist() == [10, 11, 12, 13]
    scalars = time_aware_collate([torch.tensor(7), torch.tensor(8)])         # 0-dim -> [1, B, 1]
    assert scalars.shape == (1, 2, 1) and scalars.flatten().tolist() == [7, 8]
    assert time_aware_collate([torch.zeros(3)]).shape == (3, 1, 1)


def test_collate_numpy_and_python_scalars():
    arrays = time_aware_collate([np.zeros((4, 3)), np.ones((4, 3))])
    assert arrays.shape == (4, 2, 3) and arrays.dtype == torch.float64 and arrays[:, 1].sum() == 12
    assert time_aware_collate([np.zeros(4), np.zeros(4)]).shape == (4, 2, 1)
    assert time_aware_collate([np.array(1.0), np.array(2.0)]).shape == (1, 2, 1)
    numpy_scalars = time_aware_collate([np.float32(1.5), np.float32(2.0)])
    assert numpy_scalars.dtype == torch.float32 and numpy_scalars.tolist() == [1.5, 2.0]
    assert time_aware_collate([np.int64(3), np.int64(4)]).dtype == torch.int64
    ints = time_aware_collate([1, 2, 3])
    assert ints.dtype == torch.int64 and ints.tolist() == [1, 2, 3]
    floats = time_aware_collate([1.0, 2.5])
    assert floats.dtype == torch.float64 and floats.tolist() == [1.0, 2.5]
    assert time_aware_collate([True, False]).dtype == torch.bool
    assert time_aware_collate(["a", "b"]) == ["a", "b"]            # BindsNET recurses forever here


def test_collate_dicts_and_sequences_recursively():
    sample = lambda label: {"image": torch.zeros(1, 8, 8), "label": label,  # noqa: E731
                            "encoded_image": torch.zeros(7, 1, 8, 8, dtype=torch.uint8)}
    batch = time_aware_collate([sample(3), sample(4)])
    assert batch["image"].shape == (1, 2, 8, 8)                     # images [1, H, W] -> [1, B, H, W]
    assert batch["encoded_image"].shape == (7, 2, 1, 8, 8) and batch["encoded_image"].dtype == torch.uint8
    assert batch["label"].tolist() == [3, 4]
    pairs = time_aware_collate([(torch.zeros(3), 1), (torch.ones(3), 2)])
    assert isinstance(pairs, list) and pairs[0].shape == (3, 2, 1) and pairs[1].tolist() == [1, 2]
    Pair = namedtuple("Pair", "x y")
    named = time_aware_collate([Pair(torch.zeros(2), 1.0), Pair(torch.zeros(2), 2.0)])
    assert isinstance(named, Pair) and named.x.shape == (2, 2, 1) and named.y.dtype == torch.float64


@pytest.mark.parametrize("batch, match", [
    ([torch.zeros(3), torch.zeros(4)], r"shapes \[3\] and \[4\]"),
    ([(1, 2), (1,)], "sequence of length 2"),
    ([None, None], "got NoneType"),
    ([], "empty"),
    ([{"a": 1}, {"b": 2}], "keys"),
    ([torch.zeros(2), 3], "mixes tensors"),
    ([np.array(["a"]), np.array(["b"])], "cannot become tensors"),
    (torch.zeros(3), "must be a list"),
])
def test_collate_rejects_what_it_cannot_batch(batch, match):
    with pytest.raises(SnncError, match=match):
        time_aware_collate(batch)


# --- DataLoader --------------------------------------------------------------------------

def test_dataloader_defaults_and_collate():
    params = inspect.signature(DataLoader.__init__).parameters
    defaults = {name: p.default for name, p in params.items() if p.default is not inspect.Parameter.empty}
    assert defaults == {"batch_size": 1, "shuffle": False, "sampler": None, "batch_sampler": None,
                        "num_workers": 0, "collate_fn": time_aware_collate, "pin_memory": False,
                        "drop_last": False, "timeout": 0, "worker_init_fn": None}
    data = [torch.full((5, 2), float(i)) for i in range(5)]
    batches = list(DataLoader(data, batch_size=2))
    assert isinstance(DataLoader(data), torch.utils.data.DataLoader)
    assert [tuple(b.shape) for b in batches] == [(5, 2, 2), (5, 2, 2), (5, 1, 2)]
    assert batches[1][0, :, 0].tolist() == [2.0, 3.0]
    assert [tuple(b.shape) for b in DataLoader(data, batch_size=2, collate_fn=None, drop_last=True)] \
        == [(2, 5, 2), (2, 5, 2)]                                   # None: PyTorch's own collate


def test_dataloader_shuffle_follows_the_global_seed():
    data = list(range(20))
    torch.manual_seed(3)
    first = torch.cat(list(DataLoader(data, batch_size=5, shuffle=True))).tolist()
    torch.manual_seed(3)
    second = torch.cat(list(DataLoader(data, batch_size=5, shuffle=True))).tolist()
    assert first == second and sorted(first) == data and first != data


# --- Digits ------------------------------------------------------------------------------

def test_digits_split_items_and_scaling():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    reference = sklearn_datasets.load_digits()
    train, test = Digits(), Digits(train=False)
    assert len(train) == 1297 and len(test) == 500
    item = train[0]
    assert set(item) == {"image", "label", "encoded_image", "encoded_label"}
    assert item["image"].shape == (1, 8, 8) and item["image"].dtype == torch.float32
    assert torch.allclose(item["image"][0].double(), torch.from_numpy(reference.images[0]) / 16)
    assert item["label"] == int(reference.target[0]) and isinstance(item["label"], int)
    assert item["encoded_image"] is item["image"] and item["encoded_label"] == item["label"]
    last = test[499]                                                # test = the last 500 samples
    assert torch.allclose(last["image"][0].double(), torch.from_numpy(reference.images[-1]) / 16)
    assert test[0]["label"] == int(reference.target[1297])
    bright = Digits(intensity=64.0, train=False)[3]["image"]
    assert torch.equal(bright, test[3]["image"] * 64.0) and bright.max() <= 64.0
    assert float(train.data.max()) == 16 and train.targets.dtype == torch.int64
    assert len(Digits(n_train=1000, train=False)) == 797


def test_digits_batches_through_the_dataloader():
    pytest.importorskip("sklearn")
    dataset = Digits(PoissonEncoder(time=25, dt=1.0), None, intensity=128.0)
    torch.manual_seed(0)
    batch = next(iter(DataLoader(dataset, batch_size=4, shuffle=True)))
    assert batch["encoded_image"].shape == (25, 4, 1, 8, 8) and batch["encoded_image"].dtype == torch.uint8
    assert batch["image"].shape == (1, 4, 8, 8) and batch["label"].shape == (4,)
    assert batch["encoded_label"].tolist() == batch["label"].tolist()
    assert 0 < batch["encoded_image"].sum() and int(batch["encoded_image"].max()) == 1
    blank = batch["image"][0] == 0                                  # zero pixels never spike
    assert batch["encoded_image"].sum(0)[:, 0][blank].sum() == 0


@pytest.mark.parametrize("kwargs, match", [
    ({"n_train": 0}, "n_train"), ({"n_train": 1797}, "n_train"), ({"intensity": -1.0}, "intensity"),
    ({"image_encoder": 5}, "image_encoder must be callable"),
])
def test_digits_bad_arguments(kwargs, match):
    with pytest.raises(SnncError, match=match):
        Digits(**kwargs)


def test_digits_without_scikit_learn_says_how_to_install(monkeypatch):
    from snnc.datasets import digits
    digits._load.cache_clear()
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    try:
        with pytest.raises(ImportError, match=r"pip install 'snnc\[data\]'"):
            Digits()
    finally:
        digits._load.cache_clear()


# --- IDX files, MNIST, Fashion-MNIST -----------------------------------------------------

_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def _write_idx(path, array: np.ndarray, gz: bool = False) -> None:
    """An IDX file written here from the format's definition (not with snnc's code)."""
    header = struct.pack(">BBBB", 0, 0, _CODES[array.dtype.type], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if gz else open)(path, "wb") as handle:
        handle.write(payload)


@pytest.mark.parametrize("dtype", list(_CODES))
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, gz):
    rng = np.random.default_rng(1)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = tmp_path / "data.idx"
    _write_idx(path, array, gz)
    tensor = read_idx(path)
    assert tensor.shape == (3, 4, 5) and tensor.numpy().dtype == np.dtype(dtype).newbyteorder("=")
    assert (tensor.numpy() == array).all()


def test_read_idx_rejects_other_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(SnncError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(struct.pack(">BBBBI", 0, 0, 0x08, 1, 10) + b"\x00" * 9)
    with pytest.raises(SnncError, match="holds 9 bytes of data, but its header"):
        read_idx(short)


def _mnist_files(folder, n_train=6, n_test=4, gz=False, side=28):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, side, side), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        suffix = ".gz" if gz else ""
        _write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, gz)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz)
        arrays[prefix] = images, labels
    return arrays


def test_mnist_reads_idx_files_like_bindsnet(tmp_path):
    arrays = _mnist_files(tmp_path)
    train = MNIST(PoissonEncoder(time=10), None, root=tmp_path, intensity=128.0)   # BindsNET's order
    images, labels = arrays["train"]
    assert len(train) == 6 and train.data.shape == (6, 28, 28) and train.targets.dtype == torch.int64
    item = train[2]
    expected = torch.from_numpy(images[2]).float().div(255).unsqueeze(0) * 128.0
    assert torch.equal(item["image"], expected) and item["label"] == int(labels[2])
    assert item["encoded_image"].shape == (10, 1, 28, 28) and item["encoded_image"].dtype == torch.uint8
    test = MNIST(tmp_path, train=False)                              # root first works too
    assert len(test) == 4 and test[0]["image"].max() <= 1.0 and test[0]["label"] == int(arrays["t10k"][1][0])
    assert isinstance(test.image_encoder, NullEncoder)
    seen = []
    raw = MNIST(root=str(tmp_path), transform=lambda x: seen.append(x) or torch.zeros(1),
                target_transform=lambda y: y + 100)[1]
    assert seen[0].dtype == np.uint8 and seen[0].shape == (28, 28) and (seen[0] == images[1]).all()
    assert raw["label"] == int(labels[1]) + 100


def test_fashion_mnist_gz_in_torchvision_layout(tmp_path):
    arrays = _mnist_files(tmp_path / "FashionMNIST" / "raw", gz=True, side=5)
    dataset = FashionMNIST(root=tmp_path, train=False)
    assert len(dataset) == 4 and dataset[3]["image"].shape == (1, 5, 5)
    assert dataset[3]["label"] == int(arrays["t10k"][1][3])
    assert FashionMNIST.default_root == "/usr/share/datasets/fashion-mnist"   # Debian's package
    bindsnet_layout = tmp_path / "b"
    _mnist_files(bindsnet_layout / "TorchvisionDatasetWrapper" / "raw")
    assert len(MNIST(root=bindsnet_layout)) == 6


def test_missing_files_say_what_was_looked_for_and_how_to_get_them(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz") as info:
        MNIST(root=tmp_path, train=False)
    assert str(tmp_path) in str(info.value) and "MNIST/raw" in str(info.value)
    monkeypatch.setattr(FashionMNIST, "default_root", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        FashionMNIST()
    with pytest.raises(SnncError, match="give root"):
        MNIST()
    _mnist_files(tmp_path)
    with pytest.raises(SnncError, match="transform or intensity"):
        MNIST(root=tmp_path, transform=lambda x: x, intensity=2.0)
    with pytest.raises(SnncError, match="label_encoder must be callable"):
        MNIST(tmp_path, False)

"""Tests for ganedu.data: toy sets against gan_toy.py's definitions, digits, and the MNIST path."""
import math
import socket

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sk_load_digits
from sklearn.datasets import make_swiss_roll

from ganedu import data


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ---- toy 2D sets ---------------------------------------------------------------------------

# gan_toy.py (Gulrajani et al. 2017), typed out again as the reference.
_S = 1.0 / np.sqrt(2)
GAN_TOY_8 = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (_S, _S), (_S, -_S), (-_S, _S), (-_S, -_S)]) * 2.0 / 1.414
GAN_TOY_25 = np.array([(2.0 * x, 2.0 * y) for x in range(-2, 3) for y in range(-2, 3)]) / 2.828


def as_set(points):
    return sorted(tuple(np.round(p, 6)) for p in np.asarray(points, dtype=np.float64))


def test_names():
    assert data.TOY_DATASETS == ("8gaussians", "25gaussians", "swissroll", "ring")
    assert data.IMAGE_DATASETS == ("digits", "mnist", "fashion-mnist")


@pytest.mark.parametrize("name", data.TOY_DATASETS)
def test_sample_toy_shape_dtype_and_reproducible(name):
    x = data.sample_toy(name, 100, generator=gen(1))
    assert x.shape == (100, 2) and x.dtype == torch.float32 and x.device.type == "cpu"
    torch.testing.assert_close(x, data.sample_toy(name, 100, generator=gen(1)), rtol=0, atol=0)
    assert not torch.equal(x, data.sample_toy(name, 100, generator=gen(2)))
    torch.manual_seed(3)
    a = data.sample_toy(name, 50)
    torch.manual_seed(3)
    torch.testing.assert_close(a, data.sample_toy(name, 50), rtol=0, atol=0)


def test_modes_match_gan_toy():
    assert as_set(data.toy_modes("8gaussians")) == as_set(GAN_TOY_8)
    assert as_set(data.toy_modes("25gaussians")) == as_set(GAN_TOY_25)
    ring = data.toy_modes("ring").double()
    torch.testing.assert_close(ring.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    angles = torch.atan2(ring[:, 1], ring[:, 0]).sort().values
    torch.testing.assert_close(angles.diff(), torch.full((7,), math.pi / 4, dtype=torch.float64))
    assert data.toy_std("8gaussians") == pytest.approx(0.02 / 1.414, rel=1e-12)
    assert data.toy_std("25gaussians") == pytest.approx(0.05 / 2.828, rel=1e-12)
    assert data.toy_std("ring") == pytest.approx(0.02, rel=1e-12)


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians", "ring"])
def test_mixture_samples_are_modes_plus_gaussian_noise(name):
    n = 20000
    x = data.sample_toy(name, n, generator=gen(0)).double()
    modes = data.toy_modes(name).double()
    nearest = torch.cdist(x, modes).argmin(dim=1)
    residual = x - modes[nearest]
    std = data.toy_std(name)
    torch.testing.assert_close(residual.std(dim=0), torch.full((2,), std, dtype=torch.float64), rtol=0.03, atol=0)
    torch.testing.assert_close(residual.mean(dim=0), torch.zeros(2, dtype=torch.float64), rtol=0, atol=5 * std / n**0.5)
    freq = torch.bincount(nearest, minlength=len(modes)).double() / n   # each mode equally likely
    k = len(modes)
    torch.testing.assert_close(freq, torch.full((k,), 1.0 / k, dtype=torch.float64), rtol=0, atol=5 * (1 / k / n) ** 0.5)


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_gan_toy_divides_by_the_stdev(name):
    # gan_toy.py's comment "# stdev": after the division each coordinate has std ~1.
    x = data.sample_toy(name, 20000, generator=gen(0))
    torch.testing.assert_close(x.std(dim=0), torch.ones(2), rtol=0, atol=0.03)


def test_swissroll_is_sklearn_columns_0_2_over_7_5():
    g = gen(7)
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen(7)))
    expected = make_swiss_roll(n_samples=300, noise=0.25, random_state=seed)[0][:, [0, 2]] / 7.5
    torch.testing.assert_close(data.sample_toy("swissroll", 300, generator=g), torch.from_numpy(expected).float())


def test_toy_errors():
    with pytest.raises(ValueError, match="8gaussians.*25gaussians.*swissroll.*ring"):
        data.sample_toy("moons", 10)
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        data.sample_toy("ring", 0)
    with pytest.raises(TypeError, match="n must be a positive int"):
        data.sample_toy("ring", 2.5)
    with pytest.raises(TypeError, match="n must be a positive int"):
        data.sample_toy("ring", True)
    with pytest.raises(TypeError, match="generator"):
        data.sample_toy("ring", 10, generator=0)
    for fn in (data.toy_modes, data.toy_std):
        with pytest.raises(ValueError, match="swissroll is not a mixture: it has no modes; use w1_to_data"):
            fn("swissroll")
        with pytest.raises(ValueError, match="must be one of"):
            fn("9gaussians")


def test_parallel_lines_samples():
    real, fake = data.sample_parallel_lines(0.7, 5000, generator=gen(0))
    assert real.shape == fake.shape == (5000, 2) and real.dtype == fake.dtype == torch.float32
    torch.testing.assert_close(real[:, 0], torch.zeros(5000), rtol=0, atol=0)
    torch.testing.assert_close(fake[:, 0], torch.full((5000,), 0.7), rtol=0, atol=0)
    for y in (real[:, 1], fake[:, 1]):
        assert 0.0 <= float(y.min()) and float(y.max()) < 1.0
        torch.testing.assert_close(y.mean(), torch.tensor(0.5), rtol=0, atol=0.02)
        torch.testing.assert_close(y.var(), torch.tensor(1 / 12), rtol=0, atol=0.005)
    assert abs(float(np.corrcoef(real[:, 1], fake[:, 1])[0, 1])) < 0.05  # independent y's
    with pytest.raises(ValueError, match="theta must be finite"):
        data.sample_parallel_lines(float("nan"), 10)
    with pytest.raises(TypeError, match="theta"):
        data.sample_parallel_lines("1", 10)


# ---- digits --------------------------------------------------------------------------------

def test_load_digits_8_is_sklearn_scaled():
    images, labels = data.load_digits(8)
    bunch = sk_load_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.float32 and labels.dtype == torch.long
    torch.testing.assert_close(images[:, 0], torch.from_numpy(bunch.images / 8.0 - 1.0).float())
    torch.testing.assert_close(labels, torch.from_numpy(bunch.target).long(), rtol=0, atol=0)


@pytest.mark.parametrize("size", [16, 32])
def test_load_digits_resized(size):
    images, labels = data.load_digits(size)
    assert images.shape == (1797, 1, size, size) and len(labels) == 1797
    assert float(images.min()) >= -1.0 and float(images.max()) <= 1.0
    small = data.load_digits(8)[0]
    if size == 16:  # bilinear x2, align_corners=False: out[2i+1] = 0.75 in[i] + 0.25 in[i+1] per axis
        w = torch.tensor([0.75, 0.25])
        expected = torch.einsum("i,j,nij->n", w, w, small[:, 0, 3:5, 3:5])
        torch.testing.assert_close(images[:, 0, 7, 7], expected)
    torch.testing.assert_close(images.mean(), small.mean(), rtol=0, atol=0.02)


def test_load_digits_returns_copies_and_validates():
    a, _ = data.load_digits(16)
    a.fill_(5.0)
    assert float(data.load_digits(16)[0].max()) <= 1.0
    with pytest.raises(ValueError, match="size must be one of"):
        data.load_digits(28)
    with pytest.raises(TypeError, match="size"):
        data.load_digits("16")


def test_digits_dataset_and_image_dataset():
    ds = data.DigitsDataset(16)
    image, label = ds[3]
    assert len(ds) == 1797 and image.shape == (1, 16, 16) and isinstance(label, int)
    ds32, used = data.image_dataset("digits", size=32)
    assert used == "digits" and ds32[0][0].shape == (1, 32, 32)
    assert data.image_dataset("digits")[0][0][0].shape == (1, 16, 16)
    with pytest.raises(ValueError, match="digits.*mnist.*fashion-mnist"):
        data.image_dataset("cifar10")
    with pytest.raises(ValueError, match="size"):
        data.image_dataset("digits", size=0)
    with pytest.raises(TypeError, match="download"):
        data.image_dataset("digits", download="yes")


# ---- MNIST through torchvision, with a tiny fake MNIST in the raw idx format -----------------

def write_idx(path, array):
    """The idx format: magic 0x0000 08 <ndim>, then big-endian uint32 dims, then uint8 data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.tobytes())


def make_fake_mnist(root, folder="MNIST", n=20):
    rng = np.random.default_rng(0)
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    for split in ("train", "t10k"):
        write_idx(raw / f"{split}-images-idx3-ubyte", images)
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
    return images, labels


@pytest.fixture
def no_network(monkeypatch):
    """Record and refuse every connection (and name lookup) attempt."""
    calls = []

    def refuse(self, *args, **kwargs):
        calls.append(args)
        raise OSError("network disabled in tests")

    def refuse_lookup(*args, **kwargs):
        calls.append(args)
        raise socket.gaierror("name resolution disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    return calls


def test_mnist_from_raw_files(tmp_path, no_network):
    images, labels = make_fake_mnist(tmp_path)
    ds, used = data.image_dataset("mnist", root=tmp_path)
    assert used == "mnist" and len(ds) == 20
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and y == int(labels[0])
    torch.testing.assert_close(x[0], torch.from_numpy(images[0] / 255.0 * 2 - 1).float())
    ds32, used = data.image_dataset("mnist", root=str(tmp_path), size=32)
    x32 = torch.stack([ds32[i][0] for i in range(len(ds32))])
    assert used == "mnist" and x32.shape == (20, 1, 32, 32)
    assert -1.0 <= float(x32.min()) < -0.9 and 0.9 < float(x32.max()) <= 1.0
    assert no_network == []


def test_fashion_mnist_from_raw_files(tmp_path):
    make_fake_mnist(tmp_path, folder="FashionMNIST", n=5)
    ds, used = data.image_dataset("fashion-mnist", root=tmp_path, size=16)
    assert used == "fashion-mnist" and len(ds) == 5 and ds[4][0].shape == (1, 16, 16)


def test_offline_fallback_makes_no_network_call(tmp_path, monkeypatch, capsys, no_network):
    monkeypatch.setenv("GANEDU_OFFLINE", "1")
    ds, used = data.image_dataset("mnist", root=tmp_path, size=32, download=True)
    assert used == "digits" and isinstance(ds, data.DigitsDataset) and ds[0][0].shape == (1, 32, 32)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"ganedu: MNIST not found under {tmp_path} (offline")
    assert "scikit-learn's digits (1797 images, 32x32)" in lines[0]
    assert no_network == [] and socket.getdefaulttimeout() is None


def test_failed_download_falls_back_and_restores_timeout(tmp_path, monkeypatch, capsys, no_network):
    monkeypatch.delenv("GANEDU_OFFLINE", raising=False)
    ds, used = data.image_dataset("fashion-mnist", root=tmp_path, download=True)
    out = capsys.readouterr().out.strip().splitlines()
    assert used == "digits" and len(ds) == 1797 and len(no_network) >= 1
    assert len(out) == 2 and "downloading Fashion-MNIST" in out[0] and "download failed" in out[1]
    assert socket.getdefaulttimeout() is None


def test_missing_without_download_and_odd_size(tmp_path, capsys, no_network):
    _, used = data.image_dataset("mnist", root=tmp_path)
    assert used == "digits" and "(download=False)" in capsys.readouterr().out and no_network == []
    with pytest.raises(ValueError, match="digits fallback only comes in sizes"):
        data.image_dataset("mnist", root=tmp_path, size=28)


# ---- CIFAR-10 / CelebA (large_image_dataset): read when present, a clear error when absent ----

def make_fake_cifar10(root, n=6):
    """torchvision's CIFAR-10 layout: pickled dicts with 'data' (n, 3072) uint8 and 'labels'."""
    import pickle

    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).tolist()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as fh:
            pickle.dump({"data": images.reshape(n, -1), "labels": labels}, fh)
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, fh)
    return images, labels


def test_cifar10_from_files(tmp_path, monkeypatch, no_network):
    import torchvision

    images, labels = make_fake_cifar10(tmp_path)
    # our fake files cannot match torchvision's MD5 sums; everything after the check is real
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    ds, used = data.large_image_dataset("cifar10", root=tmp_path)
    assert used == "cifar10" and len(ds) == 5 * len(labels)
    x, y = ds[1]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and y == labels[1]
    torch.testing.assert_close(x, torch.from_numpy(images[1] / 255.0 * 2 - 1).float())
    x16 = data.large_image_dataset("cifar10", root=tmp_path, size=16)[0][0][0]
    assert x16.shape == (3, 16, 16) and -1.0 <= float(x16.min()) and float(x16.max()) <= 1.0
    assert no_network == []


def test_celeba_image_folder(tmp_path):
    from PIL import Image

    folder = tmp_path / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2)
    for i in range(3):  # CelebA's aligned faces are 178x218 JPEGs; PNG keeps the pixels exact
        Image.fromarray(rng.integers(0, 256, size=(218, 178, 3), dtype=np.uint8)).save(folder / f"{i:06d}.png")
    solid = np.zeros((218, 178, 3), dtype=np.uint8)
    solid[..., 0] = 255  # pure red: (1, -1, -1) after scaling, at any size
    Image.fromarray(solid).save(folder / "000009.png")
    ds, used = data.large_image_dataset("celeba", root=tmp_path, size=16)
    assert used == "celeba" and len(ds) == 4
    x, y = ds[3]
    assert x.shape == (3, 16, 16) and y == 0
    torch.testing.assert_close(x, torch.tensor([1.0, -1.0, -1.0]).view(3, 1, 1).expand(3, 16, 16))
    assert data.large_image_dataset("celeba", root=tmp_path)[0][0][0].shape == (3, 64, 64)


def test_large_datasets_absent_are_clear_errors(tmp_path, monkeypatch, no_network):
    with pytest.raises(ValueError, match=r"CIFAR-10 was not found under .*cifar-10-batches-py.*--download"):
        data.large_image_dataset("cifar10", root=tmp_path)
    monkeypatch.setenv("GANEDU_OFFLINE", "1")
    with pytest.raises(ValueError, match="GANEDU_OFFLINE=1"):
        data.large_image_dataset("cifar10", root=tmp_path, download=True)
    with pytest.raises(ValueError, match=r"CelebA was not found under .*celeba.*img_align_celeba"):
        data.large_image_dataset("celeba", root=tmp_path)
    with pytest.raises(ValueError, match="cifar10"):
        data.large_image_dataset("mnist")
    assert no_network == []

"""Build the offline test-data folder (the layout of ``shared/data``) on a machine with network.

``python scripts/fetch_test_data.py --out DIR`` then ``DRAW_DATA_DIR=DIR pytest``:
MNIST and Fashion-MNIST (torchvision's ``raw/``), Larochelle & Murray's binarized MNIST as one
``.npz``, the first 3,000 drawings of six Quick, Draw! categories, the CIFAR-10 test split as
class folders of JPEGs, and the small Omniglot background sets. Used by the GitHub workflow; needs
the package installed (the Quick, Draw! URL and download come from ``draw_lightning.data.quickdraw``).
"""

from __future__ import annotations

import argparse
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
from torchvision import datasets
from torchvision.datasets.utils import download_url

from draw_lightning.data.quickdraw import QUICKDRAW_URL, category_url, download_bitmaps

QUICKDRAW_CATEGORIES = ("apple", "bicycle", "cat", "diamond", "eye", "fish")
QUICKDRAW_ROWS = 3000
BINARIZED_MNIST_URL = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/binarized_mnist_{}.amat"
OMNIGLOT_SETS = ("images_background_small1", "images_background_small2")


def fetch_binarized_mnist(out: Path) -> None:
    splits = {}
    for split in ("train", "valid", "test"):
        with urllib.request.urlopen(BINARIZED_MNIST_URL.format(split), timeout=60) as response:
            splits[split] = np.loadtxt(response, dtype=np.uint8)
    (out / "binarized_mnist").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "binarized_mnist" / "binarized_mnist.npz", **splits)


def fetch_quickdraw(out: Path) -> None:
    (out / "quickdraw").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for category in QUICKDRAW_CATEGORIES:
            full = download_bitmaps(category_url(QUICKDRAW_URL, category), Path(tmp) / f"{category}.npy")
            np.save(out / "quickdraw" / f"{category}.npy", np.load(full, mmap_mode="r")[:QUICKDRAW_ROWS])
            full.unlink()


def fetch_cifar10_test_folder(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        test = datasets.CIFAR10(tmp, train=False, download=True)
        for index, (image, label) in enumerate(test):
            folder = out / "cifar10" / "test" / test.classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            image.save(folder / f"{index:04d}.jpg", quality=95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write (DRAW_DATA_DIR)")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    datasets.MNIST(out, download=True)
    datasets.FashionMNIST(out, download=True)
    fetch_binarized_mnist(out)
    fetch_quickdraw(out)
    fetch_cifar10_test_folder(out)
    for name in OMNIGLOT_SETS:
        download_url(f"{datasets.Omniglot.download_url_prefix}/{name}.zip", str(out / "omniglot"))


if __name__ == "__main__":
    main()

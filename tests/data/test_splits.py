import numpy as np
import pytest

from draw_lightning.data.splits import check_splits_nonempty, holdout_indices, split_indices


def test_split_indices_partition_and_sizes():
    parts = split_indices(1000, val_fraction=0.1, test_fraction=0.2, seed=3)
    assert {k: len(v) for k, v in parts.items()} == {"train": 700, "val": 100, "test": 200}
    assert np.array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(1000))
    assert all(np.all(np.diff(v) > 0) for v in parts.values())  # sorted: reads stay local


def test_split_indices_deterministic_by_seed():
    a = split_indices(500, val_fraction=0.1, test_fraction=0.1, seed=1)
    b = split_indices(500, val_fraction=0.1, test_fraction=0.1, seed=1)
    c = split_indices(500, val_fraction=0.1, test_fraction=0.1, seed=2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["val"], c["val"])


@pytest.mark.parametrize(
    ("val", "test", "message"),
    [
        (0.0, 0.1, r"data.val_fraction must lie in \(0, 1\), got 0.0"),
        (0.1, 1.0, r"data.test_fraction must lie in \(0, 1\), got 1.0"),
        (-0.2, 0.1, r"data.val_fraction must lie in \(0, 1\), got -0.2"),
        (0.6, 0.5, r"val_fraction \+ data.test_fraction must be < 1, got 0.6 \+ 0.5"),
    ],
)
def test_split_fraction_outside_unit_interval(val, test, message):
    with pytest.raises(ValueError, match=message):
        split_indices(10, val_fraction=val, test_fraction=test, seed=0)


def test_holdout_indices():
    parts = holdout_indices(60_000, val_size=10_000, seed=0)
    assert (len(parts["train"]), len(parts["val"])) == (50_000, 10_000)
    assert not np.intersect1d(parts["train"], parts["val"]).size
    with pytest.raises(ValueError, match=r"data.val_size must lie in \(0, 100\).*got 100"):
        holdout_indices(100, val_size=100, seed=0)


def test_empty_split_is_named():
    with pytest.raises(ValueError, match=r"tiny set: the val split would be empty"):
        check_splits_nonempty({"train": 3, "val": 0, "test": 1}, what="tiny set")

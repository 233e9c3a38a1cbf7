"""ResumableRandomSampler: order fixed by (seed, epoch); a resumed pass yields exactly the rest."""

from __future__ import annotations

import pytest

from draw_lightning.data.samplers import ResumableRandomSampler


def test_order_is_a_permutation_fixed_by_seed_and_epoch() -> None:
    sampler = ResumableRandomSampler(num_samples=50, seed=3)
    first = list(sampler)
    assert sorted(first) == list(range(50)) and list(sampler) == first
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first and sorted(second) == list(range(50))
    assert list(ResumableRandomSampler(num_samples=50, seed=4)) != first
    # seed s at epoch 1 is not seed s + 1 at epoch 0
    assert second != list(ResumableRandomSampler(num_samples=50, seed=4))


def test_resumed_pass_yields_the_remaining_samples_once() -> None:
    full = list(ResumableRandomSampler(num_samples=50, seed=3, epoch=2))
    resumed = ResumableRandomSampler(num_samples=50, seed=3, epoch=2, start=16)
    assert len(resumed) == 50  # Lightning counts batches of the whole epoch
    assert list(resumed) == full[16:]
    assert list(resumed) == full  # the next pass of the same epoch is whole again
    resumed = ResumableRandomSampler(num_samples=50, seed=3, epoch=2, start=16)
    resumed.set_epoch(3)  # a skip never carries into another epoch
    assert len(list(resumed)) == 50


def test_start_outside_the_epoch_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"start must lie in \[0, 50\], got 51"):
        ResumableRandomSampler(num_samples=50, seed=0, start=51)

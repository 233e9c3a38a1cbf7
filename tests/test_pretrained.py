"""Weights-only files: export from a real checkpoint, ``pretrained:NAME`` in sample and eval,
and a sample from every shipped file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import draw_lightning.pretrained as pretrained
from draw_lightning.checkpointing.resume import resolve_ckpt_path
from draw_lightning.lightning_modules import DRAWLitModule
from draw_lightning.pretrained import (
    WEIGHTS_FORMAT_KEY,
    export_pretrained,
    list_pretrained,
    load_module,
    resolve_pretrained,
)
from tests.conftest import only_run_dir, run_task

SCALE, PAD = 2, 2  # sample.yaml's default scale; the grid's padding


@pytest.fixture(scope="module")
def weights_file(trained_ckpt: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("weights") / "tiny_cat.pt"
    return export_pretrained(trained_ckpt, out, metadata={"source_run": "tests", "test_loss": 123.5})


def fixed_loss(net: torch.nn.Module) -> torch.Tensor:
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return net.eval()(x, generator=torch.Generator().manual_seed(1)).loss


def sample_cells(png: Path, *, n: int, image_shape: tuple[int, int, int]) -> np.ndarray:
    """The ``n`` sample cells of ``samples.png`` (grey padding left out), ``(n, H, W, 3)``."""
    image = np.asarray(Image.open(png).convert("RGB"))
    _, height, width = image_shape
    nrow = math.ceil(math.sqrt(n))
    cell_h, cell_w = height * SCALE, width * SCALE
    cells = []
    for i in range(n):
        top, left = PAD + (i // nrow) * (cell_h + PAD), PAD + (i % nrow) * (cell_w + PAD)
        cells.append(image[top : top + cell_h, left : left + cell_w])
    return np.stack(cells)


def test_export_keeps_only_the_weights_and_reproduces_the_loss(trained_ckpt, weights_file):
    # plain values and tensors only: loadable without unpickling code
    weights = torch.load(weights_file, map_location="cpu", weights_only=True)
    assert weights[WEIGHTS_FORMAT_KEY] == 1
    assert set(weights) == {WEIGHTS_FORMAT_KEY, "hyper_parameters", "data_config", "state_dict", "metadata"}
    checkpoint = torch.load(trained_ckpt, map_location="cpu", weights_only=False)
    assert "optimizer_states" in checkpoint and "optimizer_states" not in weights
    assert all(v.dtype == torch.float32 for v in weights["state_dict"].values())
    assert weights_file.stat().st_size < trained_ckpt.stat().st_size / 2
    assert weights["hyper_parameters"]["image_shape"] == (1, 28, 28)
    assert weights["data_config"]["_target_"] == checkpoint["data_config"]["_target_"]
    assert "data_dir" not in weights["data_config"]  # this machine's folder: eval supplies its own
    assert weights["metadata"]["source_run"] == "tests" and weights["metadata"]["test_loss"] == 123.5
    assert weights["metadata"]["source_global_step"] == checkpoint["global_step"]

    full = DRAWLitModule.load_from_checkpoint(trained_ckpt, map_location="cpu")
    reloaded = load_module(weights_file)
    assert isinstance(reloaded, DRAWLitModule)
    assert reloaded.data_config == weights["data_config"]
    assert torch.equal(fixed_loss(reloaded.net), fixed_loss(full.net))
    # a full checkpoint goes through the same function
    assert torch.equal(fixed_loss(load_module(trained_ckpt).net), fixed_loss(full.net))


def test_export_refuses_a_weights_file_and_leaves_no_partial_file(trained_ckpt, weights_file, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="weights-only file already"):
        export_pretrained(weights_file, tmp_path / "again.pt")

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export_pretrained(trained_ckpt, tmp_path / "out" / "x.pt")
    assert list((tmp_path / "out").iterdir()) == []


def test_cli_exports_under_a_short_name(trained_ckpt, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    pretrained.main(["export", str(trained_ckpt), "tiny", "--metadata", "source_run=abc", "test_loss=91.25"])
    assert "ckpt_path=pretrained:tiny" in capsys.readouterr().out
    assert list_pretrained() == ["tiny"] and resolve_pretrained("pretrained:tiny") == tmp_path / "tiny.pt"
    metadata = torch.load(tmp_path / "tiny.pt", weights_only=True)["metadata"]
    assert metadata["source_run"] == "abc" and metadata["test_loss"] == 91.25
    assert metadata["source_checkpoint"] == str(trained_ckpt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.pt"]  # no temporary file left
    with pytest.raises(SystemExit):
        pretrained.main(["export", str(trained_ckpt), "../escape"])


def test_unknown_name_lists_the_available_ones(tmp_path):
    available = ", ".join(list_pretrained()) or "none shipped"
    with pytest.raises(FileNotFoundError, match=f"no pretrained weights named 'no_such_model'; available: {available}"):
        resolve_pretrained("no_such_model")
    with pytest.raises(FileNotFoundError, match="available"):
        resolve_ckpt_path("pretrained:no_such_model", runs_root=tmp_path, pretrained=resolve_pretrained)


def test_training_cannot_resume_from_pretrained_weights(tmp_path):
    with pytest.raises(ValueError, match="cannot resume from them"):
        resolve_ckpt_path("pretrained:quickdraw_cat", runs_root=tmp_path)


def test_sample_from_a_weights_only_file(weights_file, tmp_path):
    run_task("sample", f"ckpt_path={weights_file}", "n=9", "logger=none", cwd=tmp_path)
    run = only_run_dir(tmp_path, "sample")
    assert {"samples.png", "sequence.png", "generation.gif"} <= {p.name for p in run.iterdir()}
    assert sample_cells(run / "samples.png", n=9, image_shape=(1, 28, 28)).std() > 1.0


def test_eval_of_a_weights_only_file_rebuilds_the_data(weights_file, tmp_path):
    run_task(
        "eval",
        f"ckpt_path={weights_file}",
        "iwae.num_samples=5",
        "trainer.limit_test_batches=2",
        "trainer.accelerator=cpu",
        "logger=none",
        "extras.print_config=false",
        cwd=tmp_path,
    )
    result = json.loads((only_run_dir(tmp_path, "eval") / "metrics.json").read_text())
    assert result["ckpt_path"] == str(weights_file)
    assert math.isfinite(result["metrics"]["test/loss"]) and result["metrics"]["test/loss"] > 0
    assert result["metrics"]["test/iwae_num_images"] == 64  # 2 batches of the training run's 32


@pytest.mark.parametrize("name", list_pretrained())
def test_sample_from_shipped_weights(name, tmp_path):
    n = 16
    run_task("sample", f"ckpt_path=pretrained:{name}", f"n={n}", "logger=none", cwd=tmp_path)
    png = only_run_dir(tmp_path, "sample") / "samples.png"
    assert png.is_file()
    image_shape = torch.load(resolve_pretrained(name), weights_only=True)["hyper_parameters"]["image_shape"]
    assert sample_cells(png, n=n, image_shape=image_shape).std() > 2.0

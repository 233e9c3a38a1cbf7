"""The walkthrough notebook: saved without outputs, and runs top to bottom on a CPU."""

import nbformat
from nbclient import NotebookClient

from tests.conftest import REPO_ROOT, run_env

NOTEBOOK = REPO_ROOT / "notebooks" / "draw_walkthrough.ipynb"


def test_notebook_is_saved_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_notebook_trains_samples_and_shows_canvases(monkeypatch, tmp_path, data_dir):
    # The kernel inherits this environment: this checkout's code, the data, one thread, W&B
    # offline, and a short training.
    for name, value in run_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DRAW_NOTEBOOK_STEPS", "20")
    monkeypatch.delenv("DRAW_CKPT", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "negative ELBO on 256 test cats" in text
    assert "8 frames of" in text  # T = 8 steps, one frame each
    images = [o for o in outputs if o.output_type == "display_data" and any(k.startswith("image/") for k in o.data)]
    assert len(images) >= 5  # samples, sequence, reconstructions, KL chart, animation

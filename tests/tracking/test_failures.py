"""run_recording_failure: the traceback lands in the run folder and the error still propagates."""

from pathlib import Path

import pytest

from draw_lightning.tracking.failures import ERROR_FILE, run_recording_failure


def test_failure_is_written_then_raised(tmp_path: Path) -> None:
    def task() -> float:
        raise ValueError("data.val_fraction must lie in (0, 1), got 2")

    with pytest.raises(ValueError, match="val_fraction"):
        run_recording_failure(task, output_dir=tmp_path / "run")
    text = (tmp_path / "run" / ERROR_FILE).read_text()
    assert text.startswith("Traceback") and "ValueError: data.val_fraction must lie in (0, 1), got 2" in text


def test_success_returns_the_value_and_writes_nothing(tmp_path: Path) -> None:
    assert run_recording_failure(lambda: 1.5, output_dir=tmp_path) == 1.5
    assert not (tmp_path / ERROR_FILE).exists()

from pathlib import Path

from draw_lightning.data.locations import download_dir, is_writable_dir, resolve_cache_dir, resolve_data_dir


def test_dirs_from_arguments_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DRAW_DATA_DIR", str(tmp_path / "env_data"))
    monkeypatch.setenv("DRAW_CACHE_DIR", str(tmp_path / "env_cache"))
    assert resolve_data_dir(None) == tmp_path / "env_data"
    assert resolve_data_dir(tmp_path / "given") == tmp_path / "given"
    assert resolve_cache_dir("") == tmp_path / "env_cache"
    monkeypatch.delenv("DRAW_CACHE_DIR")
    assert resolve_cache_dir(None) == Path("~/.cache/draw_lightning").expanduser()


def test_permission_bits_are_honoured(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    assert is_writable_dir(data / "quickdraw")  # not there yet: its parent decides
    assert download_dir(data, tmp_path / "cache", "quickdraw") == data / "quickdraw"
    data.chmod(0o555)
    try:
        assert not is_writable_dir(data)
        assert download_dir(data, tmp_path / "cache", "quickdraw") == tmp_path / "cache" / "quickdraw"
    finally:
        data.chmod(0o755)

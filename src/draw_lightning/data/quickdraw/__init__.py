"""Google's Quick, Draw! numpy bitmaps: the datamodule, the bitmap files, their download, the category names.

Modules: :mod:`.datamodule` (:class:`QuickDrawDataModule`), :mod:`.bitmaps` (reading one
``<category>.npy`` row by row), :mod:`.download` (the bucket's URL, :data:`QUICKDRAW_URL`, and an
atomic download), :mod:`.categories` (the 345 names, kept as data in ``categories.txt``).
"""

from draw_lightning.data.quickdraw.bitmaps import ROW_BYTES, SIDE, BitmapFile, read_bitmap_header
from draw_lightning.data.quickdraw.categories import QUICKDRAW_CATEGORIES, check_categories, read_category_names
from draw_lightning.data.quickdraw.datamodule import QuickDrawDataModule, QuickDrawDataset
from draw_lightning.data.quickdraw.download import QUICKDRAW_URL, DownloadError, category_url, download_bitmaps

__all__ = [
    "QUICKDRAW_CATEGORIES",
    "QUICKDRAW_URL",
    "ROW_BYTES",
    "SIDE",
    "BitmapFile",
    "DownloadError",
    "QuickDrawDataModule",
    "QuickDrawDataset",
    "category_url",
    "check_categories",
    "download_bitmaps",
    "read_bitmap_header",
    "read_category_names",
]

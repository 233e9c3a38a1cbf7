"""The 345 Quick, Draw! category names (Google's ``categories.txt``), to reject typos before a download.

The names are data, in ``categories.txt`` next to this module (one per line, Google's order), read
through :mod:`importlib.resources` so they are found in a wheel or a zip as well as in a checkout.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from importlib import resources

__all__ = ["CATEGORIES_FILE", "QUICKDRAW_CATEGORIES", "check_categories", "read_category_names"]

CATEGORIES_FILE = "categories.txt"


def read_category_names() -> tuple[str, ...]:
    """The names listed in the package's ``categories.txt``, in file order (blank lines skipped)."""
    text = resources.files(__package__).joinpath(CATEGORIES_FILE).read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


QUICKDRAW_CATEGORIES: frozenset[str] = frozenset(read_category_names())


def check_categories(categories: Sequence[str]) -> list[str]:
    """Return ``categories`` as a list, or raise naming each unknown name and its closest valid names."""
    categories = list(categories)
    if not categories:
        raise ValueError("data.categories is empty: name at least one Quick, Draw! category, e.g. [cat]")
    problems = []
    for name in categories:
        if name not in QUICKDRAW_CATEGORIES:
            close = difflib.get_close_matches(name, sorted(QUICKDRAW_CATEGORIES), n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else "no close match"
            problems.append(f"{name!r} ({hint})")
    if problems:
        raise ValueError(
            f"data.categories: unknown Quick, Draw! categor{'y' if len(problems) == 1 else 'ies'} "
            f"{'; '.join(problems)}. Valid names are the {len(QUICKDRAW_CATEGORIES)} of Google's categories.txt"
        )
    duplicates = sorted({name for name in categories if categories.count(name) > 1})
    if duplicates:
        raise ValueError(f"data.categories lists {duplicates} more than once")
    return categories

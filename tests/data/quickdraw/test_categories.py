from importlib import resources

import pytest

from draw_lightning.data.quickdraw.categories import QUICKDRAW_CATEGORIES, check_categories, read_category_names


def test_the_345_categories():
    assert len(QUICKDRAW_CATEGORIES) == 345
    assert {"cat", "dog", "apple", "The Eiffel Tower", "t-shirt", "ice cream"} <= QUICKDRAW_CATEGORIES


def test_close_matches_suggested():
    with pytest.raises(ValueError) as err:
        check_categories(["icecream", "Dog", "qwertyuiop"])
    message = str(err.value)
    assert "'icecream' (did you mean 'ice cream'" in message
    assert "'Dog' (did you mean 'dog'" in message
    assert "'qwertyuiop' (no close match)" in message


def test_duplicates_and_empty():
    assert check_categories(("cat", "dog")) == ["cat", "dog"]
    with pytest.raises(ValueError, match=r"lists \['cat'\] more than once"):
        check_categories(["cat", "dog", "cat"])
    with pytest.raises(ValueError, match="empty"):
        check_categories([])


def test_categories_file_holds_the_345_accepted_names():
    lines = resources.files("draw_lightning.data.quickdraw").joinpath("categories.txt").read_text("utf-8").splitlines()
    assert lines == list(read_category_names())  # one name per line, no blank or padded lines
    assert len(lines) == 345 == len(set(lines))
    assert {"cat", "dog"} <= set(lines)
    assert frozenset(lines) == QUICKDRAW_CATEGORIES
    assert check_categories(lines) == lines  # every name accepted...
    for near in ("cats", "Cat", "dog "):
        with pytest.raises(ValueError, match="unknown Quick, Draw! category"):
            check_categories([near])  # ...and nothing else

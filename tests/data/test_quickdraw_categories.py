import pytest

from draw_lightning.data.quickdraw_categories import QUICKDRAW_CATEGORIES, check_categories


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

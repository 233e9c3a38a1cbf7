"""Small checks shared by the config schemas."""

from typing import Any

__all__ = ["at_least"]


def at_least(owner: str, name: str, value: Any, minimum: float) -> None:
    """Raise ValueError naming ``owner.name`` unless ``value >= minimum``."""
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be >= {minimum}, got {value}")

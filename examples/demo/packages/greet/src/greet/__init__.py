"""Greetings."""

import tinycolor


def hello(name: str) -> str:
    """A coloured greeting."""
    return tinycolor.red(f"Hello, {name}!")

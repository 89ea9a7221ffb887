"""The command line."""

import clickish

import greet


@clickish.command
def main(name: str = "world") -> str:
    """Greet someone."""
    return greet.hello(name)

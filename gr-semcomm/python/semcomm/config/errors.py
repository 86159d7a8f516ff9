"""The one error type of the config system and the wording of a field's problem."""
from __future__ import annotations


class ConfigError(ValueError):
    """An unreadable or invalid config; a field's problem names its path, the bad value and what is allowed."""


def problem(path: str, message: str, allowed: str) -> str:
    """One line of an invalid config: ``<path>: <message>; allowed: <allowed>`` (``message`` holds the value)."""
    return f"{path or '(top level)'}: {message}; allowed: {allowed}"


def raise_problems(what: str, problems: list[str]) -> None:
    """Raise :class:`ConfigError` listing every problem of the ``what`` (e.g. ``training config``), if any."""
    if problems:
        raise ConfigError(f"invalid {what}:\n  " + "\n  ".join(problems))

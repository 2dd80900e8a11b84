"""tap-sems: GoodWe SEMS portal data as Singer streams.

What the tap says about itself (its description and version in `--about` and the Meltano
plugin definition, the User-Agent of its requests) comes from one place: the package
metadata in pyproject.toml.
"""

from __future__ import annotations

from importlib import metadata


def _package() -> tuple[str, str, str | None]:
    """Version, one-line description and repository URL of the installed package."""
    try:
        package = metadata.metadata("tap-sems")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown", "Singer tap for the GoodWe SEMS portal.", None
    urls = dict(entry.split(", ", 1) for entry in package.get_all("Project-URL") or [])
    return package["Version"], package["Summary"], urls.get("Repository")


VERSION, SUMMARY, REPOSITORY = _package()

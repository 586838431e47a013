"""Where the vendors' spec files are, and their loaders (cached once per test session).

The specs stay in ../shared/specs (or POSSYNC_SPECS_DIR); they are never copied into the
project. Tests that need one skip with a clear reason when it is absent.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pytest

_ROOT = Path(__file__).resolve().parent.parent


def specs_dir() -> Path:
    configured = os.environ.get("POSSYNC_SPECS_DIR")
    return Path(configured) if configured else _ROOT.parent / "shared" / "specs"


def spec_path(relative: str) -> Path:
    """The spec file's path, or skip the test saying where it was looked for."""
    path = specs_dir() / relative
    if not path.is_file():
        pytest.skip(
            f"vendor spec {relative} not found under {specs_dir()} "
            "(set POSSYNC_SPECS_DIR to the folder holding the vendor specs)"
        )
    return path


@functools.cache
def _openapi(relative: str, strict: bool) -> Any:
    from openapi_core import Config, OpenAPI

    path = specs_dir() / relative
    if strict:
        return OpenAPI.from_file_path(str(path))
    return OpenAPI.from_file_path(str(path), config=Config(spec_validator_cls=None))


def openapi(relative: str, strict: bool = True) -> Any:
    """An openapi-core `OpenAPI` for the spec; Square's and Xero's need strict=False."""
    spec_path(relative)
    return _openapi(relative, strict)

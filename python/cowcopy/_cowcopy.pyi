# _cowcopy.pyi - type stubs for the C extension (use the cowcopy package instead).
from typing import Final, Union
import os

_Path = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]

REFLINK_AUTO: Final[int]
REFLINK_ALWAYS: Final[int]
REFLINK_NEVER: Final[int]
PRESERVE_MODE: Final[int]
PRESERVE_OWNERSHIP: Final[int]
PRESERVE_TIMESTAMPS: Final[int]
PRESERVE_XATTR: Final[int]
PRESERVE_ALL: Final[int]
NO_CLOBBER: Final[int]
FORCE: Final[int]
NO_DEREFERENCE: Final[int]
FSYNC: Final[int]
LIBRARY_VERSION: Final[str]
TESTING: Final[bool]

def copy_file(
    src: _Path, dst: _Path, reflink: int = ..., preserve: int = ..., preserve_required: int = ..., flags: int = ...
) -> tuple[str, int, int, int | None, str | None]: ...

# _cowcopy.pyi - type stubs for the C extension (use the cowcopy package instead).
from typing import Final, TypedDict, Union
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
XATTR_SKIP_REFUSED: Final[int]
TREE_DEREFERENCE: Final[int]
TREE_FOLLOW_ROOT: Final[int]
TREE_NO_SPECIALS: Final[int]
TREE_KEEP_ROOT_ATTRS: Final[int]
TREE_EXACT_DIR_MODE: Final[int]
OP_SET_MODE: Final[int]
OP_SET_XATTR: Final[int]
OP_SET_TIMES: Final[int]
OP_INTO_SELF: Final[int]
OP_OPEN_DIR: Final[int]
OP_READ_DIR: Final[int]
OP_MAKE_DIR: Final[int]
OP_READ_LINK: Final[int]
OP_MAKE_LINK: Final[int]
OP_OVERWRITE_NONDIR: Final[int]
OP_SPECIAL_FILE: Final[int]
LIBRARY_VERSION: Final[str]
TESTING: Final[bool]

def copy_file(
    src: _Path, dst: _Path, reflink: int = ..., preserve: int = ..., preserve_required: int = ..., flags: int = ...
) -> tuple[str, int, int, int | None, str | None]: ...

class _TreeStats(TypedDict):
    files: int
    cloned: int
    offloaded: int
    copied: int
    bytes: int
    hole_bytes: int
    directories: int
    symlinks: int
    hardlinks: int
    specials: int
    skipped: int
    errors: int
    threads: int
    elapsed: float

# (errno, op, call, src, dst) per failed entry
_TreeFailure = tuple[int, int, Union[str, None], Union[str, bytes], Union[str, bytes]]

def tree_copy(
    src: _Path,
    dst: _Path,
    reflink: int = ...,
    preserve: int = ...,
    preserve_required: int = ...,
    flags: int = ...,
    tree_flags: int = ...,
    threads: int = ...,
    check_signals: bool = ...,
) -> tuple[list[_TreeFailure], _TreeStats]: ...

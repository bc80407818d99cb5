# _cowcopy.pyi - type stubs for the C extension (use the cowcopy package instead).
from collections.abc import Sequence
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
OP_CACHE: Final[int]
OP_DEDUPE_FS: Final[int]
SHARED_EXTENTS: Final[int]
SHARED_SAME_FILE: Final[int]
SHARED_OTHER_FS: Final[int]
SHARED_NO_MAP: Final[int]
USAGE_ONE_FILE_SYSTEM: Final[int]
DEDUPE_DRY_RUN: Final[int]
DEDUPE_ONE_FILE_SYSTEM: Final[int]
DEDUPE_SOURCE: Final[int]
DEDUPE_SHARED: Final[int]
DEDUPE_WOULD_SHARE: Final[int]
DEDUPE_ALREADY: Final[int]
DEDUPE_DIFFERED: Final[int]
DEDUPE_FAILED: Final[int]
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

# (shared_bytes, data_bytes, size, basis: a SHARED_* constant)
def shared_bytes(file: _Path, other: _Path) -> tuple[int, int, int, int]: ...

class _UsageCounters(TypedDict):
    files: int
    apparent_bytes: int
    total_bytes: int
    exclusive_bytes: int
    set_shared_bytes: int
    saved_bytes: int
    inline_bytes: int
    threads: int
    elapsed: float

# (counters, errors, the library's result: 0 or a negative errno)
def usage(paths: Sequence[_Path], flags: int = ..., threads: int = ...) -> tuple[_UsageCounters, list[OSError], int]: ...

# (answer: "yes" | "no" | "unknown", errno, call)
_ProbeCheck = tuple[str, Union[int, None], Union[str, None]]

# (fs_name, fs_magic, block_size, writable, clone, dedupe, offload)
def probe(dir: _Path, /) -> tuple[str, int, int, bool, _ProbeCheck, _ProbeCheck, _ProbeCheck]: ...

class _DedupeStats(TypedDict):
    files_scanned: int
    bytes_scanned: int
    bytes_read: int
    cache_hits: int
    duplicate_groups: int
    files_deduplicated: int
    bytes_deduplicated: int
    files_already_shared: int
    bytes_differed: int
    freed_estimate: int
    freed: int
    elapsed: float

# (size, [(path, status: a DEDUPE_* status constant), ...])
_DedupeGroup = tuple[int, list[tuple[Union[str, bytes], int]]]

# (stats, errors, cache warnings, groups, the library's result)
def dedupe(
    paths: Sequence[_Path],
    flags: int = ...,
    min_size: int = ...,
    threads: int = ...,
    cache: _Path | None = ...,
    groups: bool = ...,
    check_signals: bool = ...,
) -> tuple[_DedupeStats, list[OSError], list[OSError], list[_DedupeGroup], int]: ...

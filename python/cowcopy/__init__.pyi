# __init__.pyi - type stubs for the cowcopy package (signatures as typeshed's
# for shutil where cowcopy mirrors a shutil function).
import os
from collections.abc import Callable, Iterable
from shutil import Error as Error, SameFileError as SameFileError, SpecialFileError as SpecialFileError
from typing import Literal, NamedTuple, TypeVar, Union, overload

_StrPath = Union[str, os.PathLike[str]]
_BytesPath = Union[bytes, os.PathLike[bytes]]
_StrOrBytesPath = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
_StrOrBytesPathT = TypeVar("_StrOrBytesPathT", bound=_StrOrBytesPath)
_StrPathT = TypeVar("_StrPathT", bound=_StrPath)
_BytesPathT = TypeVar("_BytesPathT", bound=_BytesPath)
_Reflink = Literal["auto", "always", "never"]
_PreserveName = Literal["mode", "ownership", "timestamps", "xattr", "all"]
_Preserve = Union[_PreserveName, Iterable[_PreserveName]]

__version__: str
__all__: list[str]

class CopyResult(NamedTuple):
    method: Literal["cloned", "offloaded", "copied", "symlink", "special", "skipped"]
    bytes: int
    hole_bytes: int
    fallback_errno: int | None
    fallback_call: Literal["FICLONE", "copy_file_range"] | None
    @property
    def cloned(self) -> bool: ...

def copyfile(
    src: _StrOrBytesPath, dst: _StrOrBytesPathT, *, follow_symlinks: bool = True, reflink: _Reflink = "auto"
) -> _StrOrBytesPathT: ...
@overload
def copy(src: _StrPath, dst: _StrPathT, *, follow_symlinks: bool = True, reflink: _Reflink = "auto") -> _StrPathT | str: ...
@overload
def copy(
    src: _BytesPath, dst: _BytesPathT, *, follow_symlinks: bool = True, reflink: _Reflink = "auto"
) -> _BytesPathT | bytes: ...
@overload
def copy2(src: _StrPath, dst: _StrPathT, *, follow_symlinks: bool = True, reflink: _Reflink = "auto") -> _StrPathT | str: ...
@overload
def copy2(
    src: _BytesPath, dst: _BytesPathT, *, follow_symlinks: bool = True, reflink: _Reflink = "auto"
) -> _BytesPathT | bytes: ...
def copytree(
    src: _StrPath,
    dst: _StrPathT,
    symlinks: bool = False,
    ignore: None
    | Callable[[str, list[str]], Iterable[str]]
    | Callable[[_StrPath, list[str]], Iterable[str]] = None,
    copy_function: Callable[[str, str], object] | None = None,
    ignore_dangling_symlinks: bool = False,
    dirs_exist_ok: bool = False,
    *,
    reflink: _Reflink = "auto",
    threads: int | None = None,
) -> _StrPathT: ...
def clone(src: _StrOrBytesPath, dst: _StrOrBytesPathT) -> _StrOrBytesPathT: ...
def copy_file(
    src: _StrOrBytesPath,
    dst: _StrOrBytesPath,
    *,
    follow_symlinks: bool = True,
    reflink: _Reflink = "auto",
    preserve: _Preserve = (),
    preserve_required: _Preserve | None = None,
    overwrite: bool = True,
    force: bool = False,
    fsync: bool = False,
) -> CopyResult: ...

class SharedBytes(int):
    def __new__(cls, shared: int, data_bytes: int, size: int, basis: str) -> SharedBytes: ...
    @property
    def data_bytes(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def basis(self) -> Literal["extents", "same file", "different filesystems", "no extent map"]: ...

def shared_bytes(a: _StrOrBytesPath, b: _StrOrBytesPath) -> SharedBytes: ...

class Usage(NamedTuple):
    files: int
    apparent_bytes: int
    total_bytes: int
    exclusive_bytes: int
    set_shared_bytes: int
    saved_bytes: int
    inline_bytes: int
    threads: int
    elapsed: float
    errors: tuple[OSError, ...]

def usage(
    *paths: _StrOrBytesPath, one_file_system: bool = False, threads: int | None = None, ignore_errors: bool = False
) -> Usage: ...

_DedupeStatus = Literal["source", "shared", "would_share", "already_shared", "differed", "failed"]

class DedupeFile(NamedTuple):
    path: str | bytes
    status: _DedupeStatus

class DedupeGroup(NamedTuple):
    size: int
    files: tuple[DedupeFile, ...]

class DedupeReport(NamedTuple):
    dry_run: bool
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
    errors: tuple[OSError, ...]
    groups: tuple[DedupeGroup, ...]

def dedupe(
    *paths: _StrOrBytesPath,
    dry_run: bool = False,
    min_size: int = 0,
    cache: _StrOrBytesPath | None = None,
    threads: int | None = None,
    one_file_system: bool = False,
    groups: bool = False,
    ignore_errors: bool = False,
) -> DedupeReport: ...

class ProbeCheck(NamedTuple):
    answer: Literal["yes", "no", "unknown"]
    errno: int | None
    call: str | None

class Probe(NamedTuple):
    directory: str | bytes
    filesystem: str
    fs_magic: int
    block_size: int
    writable: bool
    clone: ProbeCheck
    dedupe: ProbeCheck
    offload: ProbeCheck

def probe(path: _StrOrBytesPath) -> Probe: ...

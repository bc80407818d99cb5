# __init__.py - the cowcopy package: cloning versions of shutil's copy functions,
# built on the C extension _cowcopy (libcowcopy). The docstring is for users.
"""cowcopy - copy files so that they share storage.

On copy-on-write filesystems (btrfs, XFS with reflink, bcachefs, ZFS 2.2+,
NFS 4.2) a clone is a new, independent file that points at its source's data
blocks: made in constant time, taking no extra space, diverging block by block
only when either side is written. Where cloning is impossible, cowcopy falls
back to the fastest correct copy (copy_file_range, then read/write with holes
kept), and a new file appears only when it is complete.

Drop-ins for shutil, with shutil's signatures, return values and exceptions:

    copyfile(src, dst, *, follow_symlinks=True, reflink="auto")
    copy(src, dst, *, follow_symlinks=True, reflink="auto")
    copy2(src, dst, *, follow_symlinks=True, reflink="auto")
    copytree(src, dst, symlinks=False, ignore=None, copy_function=None,
             ignore_dangling_symlinks=False, dirs_exist_ok=False, *,
             reflink="auto", threads=None)

and cowcopy's own:

    clone(src, dst)                 clone or raise
    copy_file(src, dst, ...)        any option of the library -> CopyResult
    shared_bytes(a, b)              bytes of b's data on a's blocks -> SharedBytes (an int)
    usage(*paths, ...)              storage used, as btrfs du -s -> Usage
    dedupe(*paths, dry_run=False, ...)  make identical files share -> DedupeReport
    probe(path)                     can this filesystem clone, dedupe, offload? -> Probe

reflink is "auto" (clone if possible, else copy), "always" (clone or raise
OSError with the errno the filesystem gave, leaving nothing behind) or
"never" (a real, independent copy that shares no blocks).

Paths may be str, bytes or os.PathLike. Failures raise the OSError subclass
for the errno (FileNotFoundError, PermissionError, IsADirectoryError, ...)
with filename and filename2 set to the source and destination (for
shared_bytes, usage, dedupe and probe: filename is the path that failed);
copying a file onto itself raises shutil.SameFileError, a named pipe
shutil.SpecialFileError. The GIL is released while the library works on
files; every function may be called from many threads at once.
"""
import errno as _errno
import os as _os
import shutil as _shutil
import stat as _stat
import sys as _sys
import threading as _threading
import warnings as _warnings
from typing import NamedTuple, Optional

from shutil import Error, SameFileError, SpecialFileError

from . import _cowcopy

__version__ = _cowcopy.LIBRARY_VERSION

__all__ = [
    "CopyResult",
    "DedupeFile",
    "DedupeGroup",
    "DedupeReport",
    "Error",
    "Probe",
    "ProbeCheck",
    "SameFileError",
    "SharedBytes",
    "SpecialFileError",
    "Usage",
    "clone",
    "copy",
    "copy2",
    "copy_file",
    "copyfile",
    "copytree",
    "dedupe",
    "probe",
    "shared_bytes",
    "usage",
]

_REFLINK_MODES = {
    "auto": _cowcopy.REFLINK_AUTO,
    "always": _cowcopy.REFLINK_ALWAYS,
    "never": _cowcopy.REFLINK_NEVER,
}

_PRESERVE_BITS = {
    "mode": _cowcopy.PRESERVE_MODE,
    "ownership": _cowcopy.PRESERVE_OWNERSHIP,
    "timestamps": _cowcopy.PRESERVE_TIMESTAMPS,
    "xattr": _cowcopy.PRESERVE_XATTR,
    "all": (_cowcopy.PRESERVE_MODE | _cowcopy.PRESERVE_OWNERSHIP
            | _cowcopy.PRESERVE_TIMESTAMPS | _cowcopy.PRESERVE_XATTR),
}

# What copy2() asks of the library: the metadata shutil.copystat() copies,
# applied to the new file before it appears. Only the timestamps are required
# here; the mode and extended attributes are then checked and completed with
# shutil's own rules (see _finish_copystat).
_COPY2_PRESERVE = (_cowcopy.PRESERVE_MODE | _cowcopy.PRESERVE_TIMESTAMPS
                   | _cowcopy.PRESERVE_XATTR)
_COPY2_REQUIRED = _cowcopy.PRESERVE_TIMESTAMPS

# What copytree's C fast path asks of the library for every entry: copy2's
# metadata, each failure an error, except extended attributes refused with
# the errors shutil.copystat ignores (XATTR_SKIP_REFUSED). Special files are
# left to copy2 (TREE_NO_SPECIALS), the root's attributes to shutil.copystat
# (TREE_KEEP_ROOT_ATTRS), and directories get exactly their source's mode as
# shutil's chmod gives it (TREE_EXACT_DIR_MODE).
_TREE_PRESERVE = (_cowcopy.PRESERVE_MODE | _cowcopy.PRESERVE_TIMESTAMPS
                  | _cowcopy.PRESERVE_XATTR)
_TREE_FLAGS = (_cowcopy.TREE_NO_SPECIALS | _cowcopy.TREE_KEEP_ROOT_ATTRS
               | _cowcopy.TREE_EXACT_DIR_MODE)

# shutil.copy2 itself, if it is the genuine one: as a copy_function it is
# equivalent to cowcopy.copy2 and keeps copytree's fast path.
_SHUTIL_COPY2 = (_shutil.copy2 if getattr(_shutil.copy2, "__module__", None) == "shutil"
                 and getattr(_shutil.copy2, "__qualname__", None) == "copy2" else None)

# What _copy_data made at the destination.
_SYMLINK, _NEW_FILE, _REPLACED = "symlink", "new file", "replaced"

# shutil._copyxattr ignores these errors for a single attribute.
_XATTR_IGNORED = (_errno.EPERM, _errno.ENOTSUP, _errno.ENODATA, _errno.EINVAL)


class CopyResult(NamedTuple):
    """What copy_file() did.

    method          "cloned" (shares the source's blocks), "offloaded" (copied
                    inside the kernel by copy_file_range), "copied"
                    (read/write, holes kept), "symlink" (a symbolic link was
                    recreated), "special" (a device or FIFO node was
                    recreated) or "skipped" (overwrite=False and the
                    destination existed).
    bytes           size of the copy in bytes.
    hole_bytes      of which kept as holes (not written); 0 for clones.
    fallback_errno  errno of the first call that refused (0 if it returned
                    no data), or None when nothing fell back.
    fallback_call   that call, "FICLONE" or "copy_file_range", or None.
    """

    method: str
    bytes: int
    hole_bytes: int
    fallback_errno: Optional[int]
    fallback_call: Optional[str]

    @property
    def cloned(self) -> bool:
        """True when the copy shares its source's blocks."""
        return self.method == "cloned"


def _reflink_mode(reflink):
    """The library's constant for "auto", "always" or "never"; ValueError otherwise."""
    try:
        return _REFLINK_MODES[reflink]
    except (KeyError, TypeError):
        raise ValueError(
            f"reflink must be 'auto', 'always' or 'never', not {reflink!r}") from None


def _preserve_bits(names, what):
    """The PRESERVE_* bits for a name or an iterable of names."""
    if isinstance(names, str):
        names = (names,)
    bits = 0
    for name in names:
        try:
            bits |= _PRESERVE_BITS[name]
        except (KeyError, TypeError):
            raise ValueError(f"{what} names 'mode', 'ownership', 'timestamps', 'xattr' "
                             f"or 'all', not {name!r}") from None
    return bits


def _path_stat(fn):
    """shutil's _stat: os.stat, or the cached stat of an os.DirEntry."""
    return fn.stat() if isinstance(fn, _os.DirEntry) else _os.stat(fn)


def _islink(fn):
    """shutil's _islink."""
    return fn.is_symlink() if isinstance(fn, _os.DirEntry) else _os.path.islink(fn)


def _trailing_sep(path):
    """(path ends with "/", path without its trailing slashes) for a str,
    bytes or os.PathLike path."""
    path = _os.fspath(path)
    sep = b"/" if isinstance(path, bytes) else "/"
    return path.endswith(sep), path.rstrip(sep)


def _copy_data(src, dst, follow_symlinks, reflink, preserve, required):
    """The body of shutil.copyfile, with the library doing the copy.

    Checks what shutil checks, in its order (same file, named pipes), copies a
    symlink as a symlink exactly as shutil does when not following, and
    otherwise lets the library clone or copy. @return (src_stat, made):
    the source's stat (following symlinks, or None if it failed) and what
    was made: _SYMLINK, _NEW_FILE (nothing, or a dangling symlink, was at
    dst) or _REPLACED (dst's existing file was replaced or rewritten).
    """
    try:
        src_st = _path_stat(src)
    except OSError:
        src_st = None
    try:
        dst_st = _path_stat(dst)
    except OSError:
        dst_st = None
    if src_st is not None and dst_st is not None and _os.path.samestat(src_st, dst_st):
        raise SameFileError("{!r} and {!r} are the same file".format(src, dst))
    for fn, st in ((src, src_st), (dst, dst_st)):
        if st is not None and _stat.S_ISFIFO(st.st_mode):
            fn = fn.path if isinstance(fn, _os.DirEntry) else fn
            raise SpecialFileError("`%s` is a named pipe" % fn)

    if not follow_symlinks and _islink(src):
        _os.symlink(_os.readlink(src), dst)
        return src_st, _SYMLINK

    target = dst
    if dst_st is None and src_st is not None and _os.path.islink(dst):
        # shutil's open(dst, "wb") creates the file a dangling symlink points
        # to; the library refuses to write through one (as cp does).
        target = _os.path.realpath(dst)
    try:
        _replace_copy(src, target, reflink, preserve, required)
    except NotADirectoryError as e:
        # "dst/" where no directory is: shutil reports FileNotFoundError
        # (CPython issue 43219), unless a non-directory is there.
        slash, bare = _trailing_sep(dst)
        if slash and src_st is not None and not _os.path.lexists(bare):
            raise FileNotFoundError(_errno.ENOENT, "Directory does not exist",
                                    e.filename, None, e.filename2) from e
        raise
    return src_st, _NEW_FILE if dst_st is None else _REPLACED


def _replace_copy(src, dst, reflink, preserve, required):
    """_cowcopy.copy_file, replacing a destination that appears while the
    copy is being built. The library creates a new destination as cp does,
    failing with EEXIST if another process made one meanwhile; shutil's
    open(dst, "wb") never fails so, and copies racing onto one name should
    leave the last one, not an error. A retry sees the newcomer and replaces
    it (or reports what it cannot replace, such as a directory)."""
    for attempt in range(3):
        try:
            return _cowcopy.copy_file(src, dst, reflink, preserve, required, 0)
        except FileExistsError:
            if attempt == 2:
                raise


def _umask():
    """The process's umask, read without changing it (os.umask() cannot
    read it without setting it, which races with other threads), or None
    where /proc/self/status does not say (Linux before 4.7)."""
    try:
        fd = _os.open("/proc/self/status", _os.O_RDONLY | _os.O_CLOEXEC)
        try:
            status = _os.read(fd, 8192)
        finally:
            _os.close(fd)
        start = status.index(b"\nUmask:") + 7
        return int(status[start:status.index(b"\n", start)], 8)
    except (OSError, ValueError):
        return None


def _chmod_like(src, dst, src_st):
    """shutil.copymode when following symlinks: dst gets src's mode bits."""
    if src_st is None:
        src_st = _path_stat(src)
    _os.chmod(dst, _stat.S_IMODE(src_st.st_mode))


def _finish_copystat(src, dst, src_st):
    """Complete what the library did for copy2 with shutil.copystat's rules.

    The library already gave the new file its times (required), extended
    attributes and mode before it appeared; failures of the last two were
    let pass so that shutil's verdict could be given here: extended
    attributes of src that did not arrive are set again, ignoring the errors
    shutil ignores, and the mode is set with chmod, whose error is raised.
    """
    try:
        names = _os.listxattr(src)
    except OSError as e:
        if e.errno not in (_errno.ENOTSUP, _errno.ENODATA, _errno.EINVAL):
            raise
        names = []
    if names:
        try:
            present = set(_os.listxattr(dst))
        except OSError as e:
            if e.errno not in (_errno.ENOTSUP, _errno.ENODATA, _errno.EINVAL):
                raise
            present = set()
        missing = [name for name in names if name not in present]
        if missing:
            _set_xattrs(src, dst, missing)
    _chmod_like(src, dst, src_st)


def _set_xattrs(src, dst, names):
    """Copy the named extended attributes as shutil._copyxattr does. shutil
    sets them before its chmod; the library has already applied the mode,
    so a read-only copy is made owner-writable for the while (the caller's
    chmod follows)."""
    mode = _stat.S_IMODE(_os.stat(dst).st_mode)
    lifted = not mode & _stat.S_IWUSR and _os.geteuid() != 0
    if lifted:
        _os.chmod(dst, mode | _stat.S_IWUSR)
    try:
        for name in names:
            try:
                _os.setxattr(dst, name, _os.getxattr(src, name))
            except OSError as e:
                if e.errno not in _XATTR_IGNORED:
                    raise
    finally:
        if lifted:
            _os.chmod(dst, mode)


def copyfile(src, dst, *, follow_symlinks=True, reflink="auto"):
    """Copy data from src to dst, cloning where the filesystem can, and
    return dst. shutil.copyfile with a reflink option.

    dst must name a file, not a directory; an existing file is replaced.
    If follow_symlinks is false and src is a symbolic link, a new symbolic
    link is created instead of copying the file it points to.

    reflink: "auto" clones if possible and copies otherwise; "always" clones
    or raises OSError (EXDEV, EOPNOTSUPP, ...) leaving nothing behind;
    "never" makes a real, independent copy that shares no blocks.

    Unlike shutil, the copy is built beside dst and appears complete or not
    at all; an existing dst is replaced atomically (unless it has other hard
    links or is a symlink: those are written in place, as shutil does).
    """
    mode = _reflink_mode(reflink)
    _sys.audit("shutil.copyfile", src, dst)
    src_st, made = _copy_data(src, dst, follow_symlinks, mode, 0, 0)
    if made == _NEW_FILE:
        # The library gives a new file the source's permission bits less the
        # umask (as cp does); shutil's open(dst, "wb") gives 0o666 less the umask.
        umask = _umask()
        if umask is not None and src_st is not None:
            wanted = 0o666 & ~umask
            if _stat.S_IMODE(src_st.st_mode) & 0o777 & ~umask != wanted:
                _os.chmod(dst, wanted)
    return dst


def copy(src, dst, *, follow_symlinks=True, reflink="auto"):
    """Copy data and mode bits ("cp src dst"), cloning where possible, and
    return the file's destination. shutil.copy with a reflink option.

    dst may be a directory. If follow_symlinks is false and src is a
    symbolic link, dst is created as a symbolic link. reflink: see copyfile.
    """
    mode = _reflink_mode(reflink)
    if _os.path.isdir(dst):
        dst = _os.path.join(dst, _os.path.basename(src))
    _sys.audit("shutil.copyfile", src, dst)
    src_st, made = _copy_data(src, dst, follow_symlinks, mode, 0, 0)
    _sys.audit("shutil.copymode", src, dst)
    if made != _SYMLINK:  # a new symlink's mode cannot be set on Linux (no lchmod)
        _chmod_like(src, dst, src_st)
    return dst


def copy2(src, dst, *, follow_symlinks=True, reflink="auto"):
    """Copy data and metadata, cloning where possible, and return the file's
    destination. shutil.copy2 with a reflink option.

    Metadata is what shutil.copystat copies: mode bits, access and
    modification times (to the nanosecond) and extended attributes (POSIX
    ACLs included); here they are set before the new file appears.
    dst may be a directory. If follow_symlinks is false and src is a symbolic
    link, dst is created as a symbolic link with src's times.
    reflink: see copyfile.
    """
    mode = _reflink_mode(reflink)
    if _os.path.isdir(dst):
        dst = _os.path.join(dst, _os.path.basename(src))
    _sys.audit("shutil.copyfile", src, dst)
    src_st, made = _copy_data(src, dst, follow_symlinks, mode,
                              _COPY2_PRESERVE, _COPY2_REQUIRED)
    if made == _SYMLINK:
        _shutil.copystat(src, dst, follow_symlinks=False)
    else:
        _sys.audit("shutil.copystat", src, dst)
        _finish_copystat(src, dst, src_st)
    return dst


def clone(src, dst):
    """Make dst a clone of the file src, sharing its blocks, or raise.

    Raises OSError with the filesystem's errno when the two cannot share
    storage (EXDEV across filesystems, EOPNOTSUPP on ext4 or tmpfs, ...),
    leaving nothing behind. An existing dst is replaced as copyfile does.
    Symbolic links in src are followed. Returns dst.
    """
    st = None
    try:
        st = _path_stat(src)
    except OSError:
        pass  # the library reports it, with both names
    if st is not None and _stat.S_ISFIFO(st.st_mode):
        fn = src.path if isinstance(src, _os.DirEntry) else src
        raise SpecialFileError("`%s` is a named pipe" % fn)
    _replace_copy(src, dst, _cowcopy.REFLINK_ALWAYS, 0, 0)
    return dst


def copy_file(src, dst, *, follow_symlinks=True, reflink="auto", preserve=(),
              preserve_required=None, overwrite=True, force=False, fsync=False):
    """Copy one file with libcowcopy's own rules and say how: -> CopyResult.

    follow_symlinks  if false, a symbolic link src is recreated as a link.
    reflink          "auto", "always" or "never" (see copyfile).
    preserve         what to carry over: "mode" (with POSIX ACLs),
                     "ownership", "timestamps", "xattr", or "all"; a name or
                     an iterable of names.
    preserve_required  the subset whose failure is an error; by default all
                     of preserve except ownership, whose failure for an
                     unprivileged user is ignored (as cp -p does).
    overwrite        if false, an existing dst is left alone and the result's
                     method is "skipped".
    force            replace a dst that is not writable (cp -f).
    fsync            flush the file before it appears, and its directory after.

    Unlike copyfile, a named pipe or device src is read until its end (as cp
    reads it), and a dst that is a dangling symlink is an error
    (FileNotFoundError) rather than written through.
    """
    mode = _reflink_mode(reflink)
    bits = _preserve_bits(preserve, "preserve")
    if preserve_required is None:
        required = bits & ~_cowcopy.PRESERVE_OWNERSHIP
    else:
        required = _preserve_bits(preserve_required, "preserve_required")
        if required & ~bits:
            raise ValueError("preserve_required must be a subset of preserve")
    flags = ((0 if follow_symlinks else _cowcopy.NO_DEREFERENCE)
             | (0 if overwrite else _cowcopy.NO_CLOBBER)
             | (_cowcopy.FORCE if force else 0)
             | (_cowcopy.FSYNC if fsync else 0))
    return CopyResult(*_cowcopy.copy_file(src, dst, mode, bits, required, flags))


def copytree(src, dst, symlinks=False, ignore=None, copy_function=None,
             ignore_dangling_symlinks=False, dirs_exist_ok=False, *,
             reflink="auto", threads=None):
    """Recursively copy a directory tree, cloning files where possible, and
    return dst. shutil.copytree with reflink and threads options.

    The arguments mean what they mean to shutil.copytree: symlinks copies
    symbolic links as links (by default the files and directories they
    point to are copied); ignore(src, names) returns names to skip;
    ignore_dangling_symlinks skips links to nothing when symlinks is false;
    dirs_exist_ok lets existing directories be merged into. Errors are
    collected and raised together as shutil.Error, a list of
    (src, dst, reason) tuples.

    copy_function defaults to cowcopy.copy2 with the given reflink mode.
    reflink ("auto", "always", "never") applies to cowcopy's own copy
    functions; with any other copy_function it must stay "auto".

    Without ignore, with copy2 as the copy function (cowcopy's or shutil's)
    and unless ignore_dangling_symlinks applies, a directory that copytree
    creates (or finds empty) is filled by libcowcopy's parallel tree copier
    with the GIL released; threads (None, or a positive int) is its number
    of worker threads, None letting the library choose (2, measured fastest
    on btrfs, XFS and ext4). The result is shutil's (see the package README
    for the differences); Ctrl-C stops the tree copier between entries.
    """
    reflink_mode = _reflink_mode(reflink)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        raise ValueError(f"threads must be None or a positive int, not {threads!r}")
    if copy_function not in (None, copy, copy2) and reflink_mode != _cowcopy.REFLINK_AUTO:
        raise ValueError("reflink applies to cowcopy's copy functions only; "
                         "a custom copy_function decides how to copy")
    _sys.audit("shutil.copytree", src, dst)
    with _os.scandir(src) as itr:
        entries = list(itr)
    return _copytree(entries, src, dst, symlinks, ignore, copy_function,
                     ignore_dangling_symlinks, dirs_exist_ok, reflink, threads)


def _copytree(entries, src, dst, symlinks, ignore, copy_function,
              ignore_dangling_symlinks, dirs_exist_ok, reflink, threads):
    """shutil._copytree (CPython 3.11), step for step: one directory's
    entries, recursing through copytree; copy_function None is copy2 with
    the reflink mode. A directory filled from empty is handed whole to the
    library where that gives shutil's result (_copytree_fast)."""
    if ignore is not None:
        ignored_names = ignore(_os.fspath(src), [x.name for x in entries])
    else:
        ignored_names = set()

    _os.makedirs(dst, exist_ok=dirs_exist_ok)
    errors = None
    if (ignore is None and _is_copy2(copy_function)
            and (symlinks or not ignore_dangling_symlinks)
            and type(_os.fspath(src)) is type(_os.fspath(dst))
            and (not dirs_exist_ok or _is_empty_dir(dst))):
        errors = _copytree_fast(src, dst, symlinks, copy_function, dirs_exist_ok, reflink,
                                threads)
    if errors is None:
        errors = []
        use_srcentry = copy_function in (None, copy, copy2, _shutil.copy, _shutil.copy2)

        for srcentry in entries:
            if srcentry.name in ignored_names:
                continue
            srcname = _os.path.join(src, srcentry.name)
            dstname = _os.path.join(dst, srcentry.name)
            srcobj = srcentry if use_srcentry else srcname
            try:
                is_symlink = srcentry.is_symlink()
                if is_symlink:
                    linkto = _os.readlink(srcname)
                    if symlinks:
                        # Not left to copy_function: legacy custom copy
                        # functions rely on copytree doing the right thing.
                        _os.symlink(linkto, dstname)
                        _shutil.copystat(srcobj, dstname, follow_symlinks=not symlinks)
                    else:
                        # ignore dangling symlink if the flag is on (shutil
                        # looks for the target from the working directory)
                        if not _os.path.exists(linkto) and ignore_dangling_symlinks:
                            continue
                        # otherwise let the copy occur; copy2 raises the error
                        if srcentry.is_dir():
                            copytree(srcobj, dstname, symlinks, ignore, copy_function,
                                     ignore_dangling_symlinks, dirs_exist_ok,
                                     reflink=reflink, threads=threads)
                        else:
                            _copy_one(copy_function, srcobj, dstname, reflink)
                elif srcentry.is_dir():
                    copytree(srcobj, dstname, symlinks, ignore, copy_function,
                             ignore_dangling_symlinks, dirs_exist_ok, reflink=reflink,
                             threads=threads)
                else:
                    # Will raise a SpecialFileError for unsupported file types
                    _copy_one(copy_function, srcobj, dstname, reflink)
            # catch the Error from the recursive copytree so that we can
            # continue with other files
            except Error as err:
                errors.extend(err.args[0])
            except OSError as why:
                errors.append((srcname, dstname, str(why)))
    try:
        _shutil.copystat(src, dst)
    except OSError as why:
        # Copying file access times may fail on Windows
        if getattr(why, "winerror", None) is None:
            errors.append((src, dst, str(why)))
    if errors:
        raise Error(errors)
    return dst


def _copy_one(copy_function, src, dst, reflink):
    """Copy one non-directory in copytree: cowcopy's functions get the
    reflink mode, anything else is called as shutil calls it."""
    if copy_function is None or copy_function is copy2:
        copy2(src, dst, reflink=reflink)
    elif copy_function is copy:
        copy(src, dst, reflink=reflink)
    else:
        copy_function(src, dst)


def _is_copy2(copy_function):
    """Is copy_function copy2, cowcopy's (None: the default) or shutil's?"""
    return (copy_function is None or copy_function is copy2
            or (_SHUTIL_COPY2 is not None and copy_function is _SHUTIL_COPY2))


def _is_empty_dir(path):
    """Does the directory path (just made or found by makedirs) hold nothing?
    False when it cannot be read: the Python walk then fails as shutil's."""
    try:
        with _os.scandir(path) as itr:
            return next(itr, None) is None
    except OSError:
        return False


def _copytree_fast(src, dst, symlinks, copy_function, dirs_exist_ok, reflink, threads):
    """Fill the empty directory dst with copies of src's entries as the loop
    of shutil._copytree does with copy2, by the library's tree copier, with
    the GIL released. @return the errors, as shutil.Error's list, or None
    when the library refused without doing anything because dst is inside
    src (shutil then copies what src held before dst was made: the Python
    walk does that).

    With symlinks false every symlink is followed (TREE_DEREFERENCE), as
    shutil copies what links point to; with symlinks true links are copied
    as links, and only src itself is followed, as os.scandir(src) follows it.
    What the library leaves out is then done as shutil does it: special
    files and symlink loops (_copy_left_out).
    """
    flags = _cowcopy.XATTR_SKIP_REFUSED
    tree_flags = _TREE_FLAGS
    if symlinks:
        flags |= _cowcopy.NO_DEREFERENCE
        tree_flags |= _cowcopy.TREE_FOLLOW_ROOT
    else:
        tree_flags |= _cowcopy.TREE_DEREFERENCE
    failures, _stats = _cowcopy.tree_copy(
        src, dst, _reflink_mode(reflink), _TREE_PRESERVE, _TREE_PRESERVE, flags, tree_flags,
        threads or 0, _threading.current_thread() is _threading.main_thread())
    if any(op == _cowcopy.OP_INTO_SELF for _, op, _, _, _ in failures):
        return None
    root = (_os.fspath(src), _os.fspath(dst))
    errors = []
    left_out = []
    for code, op, call, srcname, dstname in failures:
        if op == _cowcopy.OP_SPECIAL_FILE or (
                op == _cowcopy.OP_OPEN_DIR and code == _errno.ELOOP and call is None):
            left_out.append((srcname, dstname))
            continue
        text = _tree_failure_text(code, op, srcname, dstname)
        if (srcname, dstname) == root:
            srcname, dstname = src, dst
        errors.append((srcname, dstname, text))
    if left_out:
        errors.extend(_copy_left_out(left_out, root[1], symlinks, copy_function,
                                     dirs_exist_ok, reflink, threads))
    return errors


def _tree_failure_text(code, op, srcname, dstname):
    """str() of the OSError the Python walk would have caught where the tree
    copier failed: the errno with the names the failing call takes (one for
    os.scandir, os.makedirs, os.chmod, ...; both for a file's copy, as
    copy2 raises it)."""
    if op in (_cowcopy.OP_OPEN_DIR, _cowcopy.OP_READ_DIR, _cowcopy.OP_READ_LINK):
        names = (srcname,)                           # os.scandir, os.readlink
    elif op == _cowcopy.OP_OVERWRITE_NONDIR:
        code, names = _errno.EEXIST, (dstname,)      # os.makedirs
    elif op in (_cowcopy.OP_MAKE_DIR, _cowcopy.OP_SET_MODE, _cowcopy.OP_SET_XATTR) or (
            op == _cowcopy.OP_SET_TIMES and _os.path.lexists(dstname)):
        names = (dstname,)                           # os.makedirs, copystat's calls
    elif op == _cowcopy.OP_MAKE_LINK:
        try:
            names = (_os.readlink(srcname), dstname)  # os.symlink(linkto, dstname)
        except OSError:
            names = (srcname, dstname)
    else:
        names = (srcname, dstname)                   # a file's copy, by copy2
    if len(names) == 1:
        return str(OSError(code, _os.strerror(code), names[0]))
    return str(OSError(code, _os.strerror(code), names[0], None, names[1]))


def _copy_left_out(left_out, dst_root, symlinks, copy_function, dirs_exist_ok, reflink,
                   threads):
    """Copy what the tree copier left out as shutil.copytree does.

    A FIFO, socket or device goes to copy2, which refuses a FIFO
    (SpecialFileError), fails to open a socket and reads a device into a
    file. A symlink to a directory being copied (a loop, which the library
    reports with ELOOP) goes to copytree, which copies it again inside
    itself, as shutil does, until the kernel's limit on symlinks in a path
    stops it. What this makes changes a directory the library has finished,
    so that directory's attributes are copied again after it (the root's
    are copied by the caller). @return the errors."""
    errors = []
    root_st = _os.stat(dst_root)
    for srcname, dstname in left_out:
        parent = _os.path.dirname(dstname)
        refinish = False
        try:
            st = _os.stat(srcname)
            makes = _stat.S_ISDIR(st.st_mode) or _stat.S_ISCHR(st.st_mode) or _stat.S_ISBLK(
                st.st_mode)
            parent_st = _os.stat(parent)
            if makes and not _os.path.samestat(parent_st, root_st):
                refinish = True
                # shutil makes it before its directory gets its mode: then
                # the directory is writable by its owner, and set-group-ID
                # (the new entry takes its group) if the root is.
                mode = _stat.S_IMODE(parent_st.st_mode)
                lifted = mode | 0o300 | (root_st.st_mode & _stat.S_ISGID)
                if lifted != mode:
                    _os.chmod(parent, lifted)
        except OSError:
            st = None  # the copy below reports the source's problem
        try:
            if st is not None and _stat.S_ISDIR(st.st_mode):
                copytree(srcname, dstname, symlinks, None, copy_function, False, dirs_exist_ok,
                         reflink=reflink, threads=threads)
            else:
                copy2(srcname, dstname, reflink=reflink)
        except Error as err:
            errors.extend(err.args[0])
        except OSError as why:
            errors.append((srcname, dstname, str(why)))
        if refinish:
            src_parent = _os.path.dirname(srcname)
            try:
                _shutil.copystat(src_parent, parent)
            except OSError as why:
                errors.append((src_parent, parent, str(why)))
    return errors


# ---------------------------------------------------------------- inspecting and sharing storage

_SHARED_BASIS = {
    _cowcopy.SHARED_EXTENTS: "extents",
    _cowcopy.SHARED_SAME_FILE: "same file",
    _cowcopy.SHARED_OTHER_FS: "different filesystems",
    _cowcopy.SHARED_NO_MAP: "no extent map",
}

_DEDUPE_STATUS = {
    _cowcopy.DEDUPE_SOURCE: "source",
    _cowcopy.DEDUPE_SHARED: "shared",
    _cowcopy.DEDUPE_WOULD_SHARE: "would_share",
    _cowcopy.DEDUPE_ALREADY: "already_shared",
    _cowcopy.DEDUPE_DIFFERED: "differed",
    _cowcopy.DEDUPE_FAILED: "failed",
}


class SharedBytes(int):
    """What shared_bytes() found: an int, the bytes shared, with details.

    The value itself is the number of bytes of the second file's data that
    sit on the same physical blocks as the first file's data. Attributes:

    data_bytes  the second file's data: its extents clipped at end of file
                (holes not counted). A clone has value == data_bytes.
    size        its size (st_size).
    basis       how the answer was found: "extents" (the physical extents
                of both files were compared), "same file" (the same inode:
                all of it), "different filesystems" or "no extent map" (the
                filesystem gives none, as tmpfs: nothing can be shared).
    """

    def __new__(cls, shared, data_bytes, size, basis):
        self = super().__new__(cls, shared)
        self._details = (data_bytes, size, basis)
        return self

    @property
    def data_bytes(self) -> int:
        return self._details[0]

    @property
    def size(self) -> int:
        return self._details[1]

    @property
    def basis(self) -> str:
        return self._details[2]

    def __repr__(self):
        return (f"SharedBytes({int(self)}, data_bytes={self.data_bytes}, size={self.size}, "
                f"basis={self.basis!r})")

    __str__ = int.__repr__

    def __reduce__(self):
        return (SharedBytes, (int(self), *self._details))


def shared_bytes(a, b):
    """How many bytes of b's data sit on a's blocks: -> SharedBytes (an int).

    A clone of a shares all of its data with a; a real copy shares none.
    Measured with FIEMAP (after flushing delayed allocation), byte-exact.
    Files on different filesystems, on filesystems that cannot share (ext4,
    tmpfs), empty files and btrfs inline data share 0 bytes: that is an
    answer, not an error. The result's data_bytes, size and basis say more.

    Both files must be readable regular files: a directory raises
    IsADirectoryError, a missing file FileNotFoundError, ... with filename
    set to the path that failed. The GIL is released while measuring.
    """
    shared, data, size, basis = _cowcopy.shared_bytes(a, b)
    return SharedBytes(shared, data, size, _SHARED_BASIS.get(basis, "extents"))


class Usage(NamedTuple):
    """What usage() measured: storage used by a set of files, with the
    meanings of `btrfs filesystem du -s` (and `cowcopy du`).

    files             regular files (inodes; hard links count once).
    apparent_bytes    the sum of their sizes.
    total_bytes       bytes of their data extents (whole blocks, holes not
                      counted).
    exclusive_bytes   of which on extents nothing else references.
    set_shared_bytes  distinct bytes of the shared extents they use, each
                      counted once.
    saved_bytes       total_bytes minus the distinct bytes they use: what
                      sharing saves inside the set.
    inline_bytes      data in no data extent (btrfs inline data); not in
                      total_bytes.
    threads           worker threads used.
    elapsed           seconds.
    errors            OSError objects for the paths that could not be
                      measured (with ignore_errors=True; else the first is
                      raised).

    A shared extent may also be referenced from outside the set (a
    snapshot, another file): FIEMAP cannot tell, so deleting the files may
    free less than exclusive_bytes + set_shared_bytes.
    """

    files: int
    apparent_bytes: int
    total_bytes: int
    exclusive_bytes: int
    set_shared_bytes: int
    saved_bytes: int
    inline_bytes: int
    threads: int
    elapsed: float
    errors: tuple


def _threads_arg(threads):
    """The library's thread count for None (its choice: 0) or a positive int."""
    if threads is None:
        return 0
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be None or a positive int, not {threads!r}")
    return threads


def _raise_first(errors, result):
    """Raise the first of errors (an OSError), noting how many more there
    are; with none, the library's result (a negative errno) as OSError."""
    if not errors:
        raise OSError(-result, _os.strerror(-result))
    first = errors[0]
    if len(errors) > 1 and hasattr(first, "add_note"):
        first.add_note(f"and {len(errors) - 1} more error(s); with ignore_errors=True "
                       "they are returned in the result's errors")
    raise first


def usage(*paths, one_file_system=False, threads=None, ignore_errors=False):
    """Storage used by the regular files under paths (default: ".") -> Usage.

    Every regular file under the paths counts once (hard links and
    overlapping paths too); symlinks inside the trees are not followed, the
    paths themselves are. Works on any filesystem with FIEMAP (btrfs, XFS,
    ext4, ...); on one without (tmpfs), data is found with SEEK_DATA and
    counts as exclusive.

    one_file_system  do not descend into other filesystems (du -x).
    threads          worker threads: None for the library's choice (up to
                     4, at most one per CPU), or a positive int.
    ignore_errors    by default a path that cannot be measured raises its
                     OSError (filename: that path) after the others were
                     measured; if true, the result is returned with those
                     errors in its errors field.

    Paths are str, bytes or os.PathLike (not str and bytes mixed); paths in
    errors have the type of the arguments. The GIL is released while
    measuring.
    """
    flags = _cowcopy.USAGE_ONE_FILE_SYSTEM if one_file_system else 0
    counters, errors, result = _cowcopy.usage(paths or (".",), flags, _threads_arg(threads))
    if (errors or result < 0) and not ignore_errors:
        _raise_first(errors, result)
    return Usage(errors=tuple(errors), **counters)


class DedupeFile(NamedTuple):
    """One file of a DedupeGroup: its path and what happened to it,
    "source" (the file the others now share with), "shared", "would_share"
    (dry run), "already_shared" (it shared all its blocks already),
    "differed" (it changed during the run: part or all not shared) or
    "failed" (see the report's errors)."""

    path: str
    status: str


class DedupeGroup(NamedTuple):
    """A set of files found identical: size (of each) and files, the
    source first (DedupeFile tuples)."""

    size: int
    files: tuple


class DedupeReport(NamedTuple):
    """What dedupe() found and did (the names of `cowcopy dedupe --json`).

    dry_run               whether nothing was to be changed.
    files_scanned         regular files met; bytes_scanned their total size.
    bytes_read            file data read to compare contents.
    cache_hits            files whose hashes came from the cache.
    duplicate_groups      sets of 2 or more files with identical content.
    files_deduplicated    files made to share their data (dry run: that
                          would be); bytes_deduplicated their bytes.
    files_already_shared  duplicates that already shared all their blocks.
    bytes_differed        bytes found different at the last moment (a file
                          changed after it was read; left as it is).
    freed_estimate        bytes that sharing should free.
    freed                 change of free space on the filesystems after a
                          sync (0 in a dry run; other writers make it noisy).
    elapsed               seconds.
    errors                OSError objects for files that could not be
                          examined or deduplicated (with ignore_errors=True;
                          else the first is raised).
    groups                with groups=True, a DedupeGroup per set of
                          identical files; else ().
    """

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
    errors: tuple
    groups: tuple


def dedupe(*paths, dry_run=False, min_size=0, cache=None, threads=None, one_file_system=False,
           groups=False, ignore_errors=False):
    """Make identical files under paths share their data blocks -> DedupeReport.

    Finds regular files with identical content under the paths (files or
    directories) and has the kernel share their blocks (FIDEDUPERANGE, on
    btrfs and XFS with reflink). The kernel compares the bytes under lock,
    so no file's content can change, even one written during the run;
    mtime, ctime, mode, owner and extended attributes are left alone, and
    atimes too where the files can be read with O_NOATIME. Hard links are
    never broken.

    dry_run          find and report, change nothing.
    min_size         skip files smaller than this many bytes.
    cache            a path for a SQLite cache of file hashes, read and
                     updated, so that a later run over unchanged files reads
                     no data again; a damaged or foreign cache is ignored
                     with a RuntimeWarning.
    threads          None for the library's choice (twice the CPUs, 4 to 8),
                     or a positive int.
    one_file_system  do not descend into other filesystems.
    groups           list every group of identical files in the report.
    ignore_errors    by default, once the run is over, the first failure
                     raises its OSError (a file that could not be read or
                     shared; EOPNOTSUPP for a filesystem that cannot
                     deduplicate, such as ext4); if true, the report is
                     returned with them in its errors field.

    Paths are str, bytes or os.PathLike (not str and bytes mixed); paths in
    the report have the type of the arguments. The GIL is released during
    the run; from the main thread, Ctrl-C stops it between groups.
    """
    if not paths:
        raise TypeError("dedupe() needs at least one path")
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 0:
        raise ValueError(f"min_size must be an int of 0 or more, not {min_size!r}")
    flags = ((_cowcopy.DEDUPE_DRY_RUN if dry_run else 0)
             | (_cowcopy.DEDUPE_ONE_FILE_SYSTEM if one_file_system else 0))
    stats, errors, warned, found, result = _cowcopy.dedupe(
        paths, flags, min_size, _threads_arg(threads), cache, bool(groups),
        _threading.current_thread() is _threading.main_thread())
    for w in warned:
        # The note names the cache and SQLite's complaint (Python 3.11+).
        notes = getattr(w, "__notes__", None)
        text = f"{notes[0]}: {w.strerror}" if notes else f"ignoring the cache: {w}"
        _warnings.warn(f"cowcopy.dedupe: {text}", RuntimeWarning, stacklevel=2)
    if (errors or result < 0) and not ignore_errors:
        _raise_first(errors, result)
    return DedupeReport(
        dry_run=bool(dry_run), **stats, errors=tuple(errors),
        groups=tuple(DedupeGroup(size, tuple(DedupeFile(p, _DEDUPE_STATUS.get(s, "failed"))
                                             for p, s in files))
                     for size, files in found))


class ProbeCheck(NamedTuple):
    """One answer of probe(): answer "yes", "no" or "unknown" (could not be
    tried, e.g. the directory is not writable); for "no" and "unknown",
    errno and call say which call refused or failed and how (errno 0: it
    did nothing, as copy_file_range copying no byte); None for "yes"."""

    answer: str
    errno: Optional[int]
    call: Optional[str]


class Probe(NamedTuple):
    """What probe() found about a directory's filesystem.

    directory   the path probed, as given (after os.fspath).
    filesystem  "btrfs", "xfs", "ext4", "tmpfs", "overlay", ... or "unknown".
    fs_magic    statfs's f_type; block_size its f_bsize.
    writable    whether temporary files could be made there (else every
                answer is "unknown").
    clone       ProbeCheck: can files be cloned (FICLONE)?
    dedupe      ProbeCheck: can identical data be shared (FIDEDUPERANGE)?
    offload     ProbeCheck: does copy_file_range copy data?
    """

    directory: str
    filesystem: str
    fs_magic: int
    block_size: int
    writable: bool
    clone: ProbeCheck
    dedupe: ProbeCheck
    offload: ProbeCheck


def probe(path):
    """What the filesystem holding the directory path can do -> Probe.

    Found by trying each operation on temporary files made in path and
    removed afterwards (unnamed O_TMPFILE files where the filesystem has
    them, so nothing is left even if the process is killed). A directory
    the caller cannot write to gives "unknown" answers, not an error; one
    that cannot be examined at all (missing, not a directory) raises its
    OSError with filename set. The GIL is released while probing.
    """
    name, magic, block_size, writable, clone_, dedupe_, offload = _cowcopy.probe(path)
    return Probe(_os.fspath(path), name, magic, block_size, writable, ProbeCheck(*clone_),
                 ProbeCheck(*dedupe_), ProbeCheck(*offload))

/*
 * darwin-sim.h - the simulated Darwin environment, force-included into every
 * translation unit of the simulated macOS build (gcc -include darwin-sim.h
 * -Itests/darwin-sim/include).
 *
 * On macOS some Darwin-only names live in headers that glibc also has
 * (<errno.h>, <fcntl.h>, <sys/stat.h>, <unistd.h>, <stdio.h>, <sys/cdefs.h>).
 * Those names cannot be added by shadowing glibc's headers, so this file adds
 * them here, with Darwin's values (xnu-11417 / Libc-1725, see
 * shared/darwin-reference.md):
 *   <errno.h>     ENOATTR (93), EFTYPE (79) and the other Darwin-only errnos
 *   <fcntl.h>     F_LOG2PHYS, F_LOG2PHYS_EXT, F_PUNCHHOLE, F_PREALLOCATE, ...,
 *                 struct log2phys (#pragma pack(4): 20 bytes), fstore_t,
 *                 fpunchhole_t; fcntl() itself becomes darwin_sim_fcntl()
 *   <sys/stat.h>  UF_* / SF_* file flags, EF_* bits, chflags/fchflags/lchflags
 *   <unistd.h>    getattrlist & co. (their structures: <sys/attr.h>)
 *   <stdio.h>     RENAME_SWAP, RENAME_EXCL, ..., renamex_np, renameatx_np
 *   compiler      __builtin_available(...) and __OSX_AVAILABLE(...)-style
 *                 macros mean "available"; bounds-safety annotations vanish
 * Names that only Darwin-only headers declare come from those headers, found
 * in this directory exactly as on macOS: <sys/clonefile.h>, <copyfile.h>,
 * <sys/attr.h>, <sys/xattr.h> (Darwin signatures, never glibc's),
 * <sys/vnode.h> (enum vtype), <sys/decmpfs.h>, <TargetConditionals.h>. So a
 * backend that forgets an #include fails here as it would on a Mac.
 *
 * Names both systems have (SEEK_DATA, SEEK_HOLE, ENOTSUP, O_*, AT_*, EEXIST)
 * come from glibc unchanged, with Linux's values: Darwin code must use the
 * names, never numbers.
 *
 * Darwin functions whose names glibc also has are renamed by macro to
 * darwin_sim_<name> (getxattr, fgetxattr, setxattr, fsetxattr, listxattr,
 * flistxattr, removexattr, fremovexattr, fcntl), so nothing clashes at link
 * time. This header includes glibc's <fcntl.h> before the fcntl macro, so
 * glibc's own declaration is untouched. The other Darwin functions keep their
 * names (clonefile, copyfile, getattrlist, chflags, renamex_np, ...).
 *
 * DARWIN_SIM is defined to 1: select the backend with it next to __APPLE__
 * (which is deliberately NOT defined: other libraries' headers would take
 * their macOS paths). The library implementing all this is libdarwinsim.a;
 * its own sources define DARWIN_SIM_BUILDING, which turns the renaming off.
 * README.md beside this directory has the build recipe and the limitations.
 */
#ifndef DARWIN_SIM_H
#define DARWIN_SIM_H

#define DARWIN_SIM 1

/* Darwin shows everything by default and its off_t is always 64 bits. */
#if !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE) && !defined(_BSD_SOURCE)
#define _DEFAULT_SOURCE 1
#endif
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#elif _FILE_OFFSET_BITS != 64
#error "darwin-sim: Darwin's off_t is 64 bits; build with _FILE_OFFSET_BITS=64"
#endif

/* glibc's declarations first, before any renaming macro below exists. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------ availability, bounds-safety
 * Every API the simulation provides is "available": the simulated kernel's
 * version only changes which clonefile flags it accepts (see
 * darwin_sim_set_os_version below), so a backend's "retry without the flag"
 * path can be tested while __builtin_available still says yes. */
#ifndef __builtin_available
#define __builtin_available(...) 1
#endif
#define __OSX_AVAILABLE(...)
#define __IOS_AVAILABLE(...)
#define __TVOS_AVAILABLE(...)
#define __WATCHOS_AVAILABLE(...)
#define __OSX_AVAILABLE_STARTING(...)
#define __OSX_AVAILABLE_BUT_DEPRECATED(...)
#define __API_AVAILABLE(...)
#define __API_UNAVAILABLE(...)
#define __API_DEPRECATED(...)
#define API_AVAILABLE(...)
#define API_UNAVAILABLE(...)
#define API_DEPRECATED(...)
#define __unsafe_indexable
#define __single
#define __indexable
#define __null_terminated
#define __counted_by(n)
#define __sized_by(n)
#define __counted_by_or_null(n)
#define __sized_by_or_null(n)
#define __ptrcheck_abi_assume_single()
#define __ptrcheck_abi_assume_unsafe_indexable()

/* ------------------------------------------------------------- <errno.h>
 * Darwin-only errno values (X bsd/sys/errno.h). They are NOT distinct from
 * Linux errnos: ENOATTR (93) is Linux's EPROTONOSUPPORT, EFTYPE (79) Linux's
 * ELIBACC, and strerror() describes the Linux meaning. ELAST is not defined
 * (Linux errnos go past 106). */
#define EPROCLIM 67
#define EBADRPC 72
#define ERPCMISMATCH 73
#define EPROGUNAVAIL 74
#define EPROGMISMATCH 75
#define EPROCUNAVAIL 76
#define EFTYPE 79
#define EAUTH 80
#define ENEEDAUTH 81
#define EPWROFF 82
#define EDEVERR 83
#define EBADEXEC 85
#define EBADARCH 86
#define ESHLIBVERS 87
#define EBADMACHO 88
#define ENOATTR 93
#define ENOPOLICY 103
#define EQFULL 106

/* ------------------------------------------------------------- <fcntl.h>
 * Darwin-only fcntl commands (X bsd/sys/fcntl.h). None collides with a Linux
 * F_* value; darwin_sim_fcntl() handles them and passes every other command
 * to glibc's fcntl unchanged. */
#define F_PREALLOCATE 42
#define F_NOCACHE 48
#define F_LOG2PHYS 49
#define F_GETPATH 50
#define F_FULLFSYNC 51
#define F_LOG2PHYS_EXT 65
#define F_PUNCHHOLE 99

/* F_PREALLOCATE's fst_flags and fst_posmode. */
#define F_ALLOCATECONTIG 0x00000002
#define F_ALLOCATEALL 0x00000004
#define F_ALLOCATEPERSIST 0x00000008
#define F_PEOFPOSMODE 3
#define F_VOLPOSMODE 4

#ifndef MAXPATHLEN
#define MAXPATHLEN 1024 /* Darwin's; F_GETPATH's buffer size */
#endif

typedef struct fstore {
    unsigned int fst_flags; /* IN: flags word */
    int fst_posmode;        /* IN: indicates use of offset field */
    off_t fst_offset;       /* IN: start of the region */
    off_t fst_length;       /* IN: size of the region */
    off_t fst_bytesalloc;   /* OUT: number of bytes allocated */
} fstore_t;

typedef struct fpunchhole {
    unsigned int fp_flags; /* unused */
    unsigned int reserved; /* (to maintain 8-byte alignment) */
    off_t fp_offset;       /* IN: start of the region */
    off_t fp_length;       /* IN: size of the region */
} fpunchhole_t;

#pragma pack(4)
struct log2phys {
    unsigned int l2p_flags; /* unused so far */
    off_t l2p_contigbytes;  /* F_LOG2PHYS: unused; _EXT: IN bytes to query, OUT contiguous bytes */
    off_t l2p_devoffset;    /* F_LOG2PHYS: OUT device offset; _EXT: IN file offset, OUT device offset */
};
#pragma pack()

_Static_assert(sizeof(struct log2phys) == 20, "struct log2phys is 20 bytes on Darwin");
_Static_assert(offsetof(struct log2phys, l2p_flags) == 0, "log2phys layout");
_Static_assert(offsetof(struct log2phys, l2p_contigbytes) == 4, "log2phys layout");
_Static_assert(offsetof(struct log2phys, l2p_devoffset) == 12, "log2phys layout");
_Static_assert(sizeof(fstore_t) == 32, "fstore_t is 32 bytes on Darwin");
_Static_assert(sizeof(fpunchhole_t) == 24, "fpunchhole_t is 24 bytes on Darwin");
_Static_assert(sizeof(off_t) == 8, "Darwin's off_t is 64 bits");

/* fcntl() with Darwin's commands on top of glibc's:
 *   F_LOG2PHYS_EXT (struct log2phys *): l2p_devoffset IN = file offset;
 *     OUT l2p_devoffset = device byte offset (-1: no backing block, a hole),
 *     l2p_contigbytes = bytes contiguous on the device from there, at most
 *     the l2p_contigbytes passed in (EINVAL if that is negative).
 *   F_LOG2PHYS (struct log2phys *): the same for the fd's current offset and
 *     one device block; l2p_contigbytes OUT is 0.
 *   F_PUNCHHOLE (fpunchhole_t *), F_PREALLOCATE (fstore_t *), F_FULLFSYNC,
 *   F_NOCACHE (int), F_GETPATH (char[MAXPATHLEN]).
 * Any other command is glibc's fcntl. @return as fcntl: -1 and errno. */
int darwin_sim_fcntl(int fd, int cmd, ...);

/* ----------------------------------------------------------- <sys/stat.h> */
#define UF_SETTABLE 0x0000ffff
#define UF_NODUMP 0x00000001
#define UF_IMMUTABLE 0x00000002
#define UF_APPEND 0x00000004
#define UF_OPAQUE 0x00000008
#define UF_COMPRESSED 0x00000020
#define UF_TRACKED 0x00000040
#define UF_DATAVAULT 0x00000080
#define UF_HIDDEN 0x00008000
#define SF_SUPPORTED 0x009f0000
#define SF_SETTABLE 0x3fff0000
#define SF_SYNTHETIC 0xc0000000
#define SF_ARCHIVED 0x00010000
#define SF_IMMUTABLE 0x00020000
#define SF_APPEND 0x00040000
#define SF_RESTRICTED 0x00080000
#define SF_NOUNLINK 0x00100000
#define SF_FIRMLINK 0x00800000
#define SF_DATALESS 0x40000000

/* Extended flags (ATTR_CMNEXT_EXT_FLAGS). */
#define EF_MAY_SHARE_BLOCKS 0x00000001
#define EF_NO_XATTRS 0x00000002
#define EF_IS_SYNC_ROOT 0x00000004
#define EF_IS_PURGEABLE 0x00000008
#define EF_IS_SPARSE 0x00000010
#define EF_IS_SYNTHETIC 0x00000020
#define EF_SHARES_ALL_BLOCKS 0x00000040

/* Set the BSD file flags (UF_* always for the owner, SF_* only for root).
 * The simulation records them; it does not enforce them (README). */
int chflags(const char *path, __uint32_t flags);
int lchflags(const char *path, __uint32_t flags);
int fchflags(int fd, __uint32_t flags);

/* ------------------------------------------------------------- <unistd.h>
 * LP64 prototypes as in Libc's <unistd.h>; structures in <sys/attr.h>. */
int getattrlist(const char *path, void *attrList, void *attrBuf, size_t attrBufSize,
                unsigned int options);
int fgetattrlist(int fd, void *attrList, void *attrBuf, size_t attrBufSize, unsigned int options);
int getattrlistat(int fd, const char *path, void *attrList, void *attrBuf, size_t attrBufSize,
                  unsigned long options);
int setattrlist(const char *path, void *attrList, void *attrBuf, size_t attrBufSize,
                unsigned int options);
int fsetattrlist(int fd, void *attrList, void *attrBuf, size_t attrBufSize, unsigned int options);
int setattrlistat(int fd, const char *path, void *attrList, void *attrBuf, size_t attrBufSize,
                  uint32_t options);

/* -------------------------------------------------------------- <stdio.h> */
#define RENAME_SECLUDE 0x00000001
#define RENAME_SWAP 0x00000002
#define RENAME_EXCL 0x00000004
#define RENAME_RESERVED1 0x00000008
#define RENAME_NOFOLLOW_ANY 0x00000010

/* rename with Darwin's flags: RENAME_EXCL fails with EEXIST if `to` exists,
 * RENAME_SWAP exchanges the two (ENOENT if `to` is missing); both: EINVAL. */
int renamex_np(const char *from, const char *to, unsigned int flags);
int renameatx_np(int fromfd, const char *from, int tofd, const char *to, unsigned int flags);

/* ------------------------------------------------------ simulation controls
 * Not Darwin API: for tests of code built against the simulation. */

/* The macOS version the simulated kernel pretends to be, which decides the
 * clonefile flags it accepts (older kernels answer EINVAL to unknown bits):
 *   10.12: CLONE_NOFOLLOW   10.13: + CLONE_NOOWNERCOPY   13.0: + CLONE_ACL
 *   15.0:  + CLONE_NOFOLLOW_ANY (the default: the newest)
 * Set it with darwin_sim_set_os_version(major, minor), or before the first
 * call with the environment variable DARWIN_SIM_MACOS="12.6" (a setter call
 * wins). (0, 0) restores the default. Versions before 10.12 count as 10.12.
 * @return 0, or -1 with EINVAL for a negative number. */
int darwin_sim_set_os_version(int major, int minor);
/* The simulated version as major * 100 + minor (e.g. 1500). */
int darwin_sim_os_version(void);

/* ------------------------------------------------------------- renaming
 * In force here, from the first line of every translation unit, so that a
 * name (a call, a function pointer, a struct member such as a call table's
 * "fgetxattr") is renamed the same way in every file, whatever each file
 * includes first. The xattr prototypes are in <sys/xattr.h>. */
#ifndef DARWIN_SIM_BUILDING
#define fcntl darwin_sim_fcntl
#define getxattr darwin_sim_getxattr
#define fgetxattr darwin_sim_fgetxattr
#define setxattr darwin_sim_setxattr
#define fsetxattr darwin_sim_fsetxattr
#define removexattr darwin_sim_removexattr
#define fremovexattr darwin_sim_fremovexattr
#define listxattr darwin_sim_listxattr
#define flistxattr darwin_sim_flistxattr
#endif

#ifdef __cplusplus
}
#endif

#endif /* DARWIN_SIM_H */

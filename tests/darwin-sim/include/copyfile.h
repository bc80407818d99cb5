/*
 * <copyfile.h> - Darwin's copyfile(3) API (CF copyfile.h, copyfile-224),
 * simulated on Linux by tests/darwin-sim. Every name and value is Darwin's;
 * the subset that is implemented, and how, is in tests/darwin-sim/README.md.
 */
#ifndef _COPYFILE_H_
#define _COPYFILE_H_

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct _copyfile_state;
typedef struct _copyfile_state *copyfile_state_t;
typedef uint32_t copyfile_flags_t;

/* Copy `from` to `to` as flags say. @return 0, or < 0 and errno (with
 * COPYFILE_CHECK, which is not simulated: -1 and ENOTSUP). */
int copyfile(const char *__unsafe_indexable from, const char *__unsafe_indexable to,
             copyfile_state_t state, copyfile_flags_t flags);
/* The same between two open files; the CLONE bits are ignored. */
int fcopyfile(int from_fd, int to_fd, copyfile_state_t, copyfile_flags_t flags);

/* A state object for copyfile (free it with copyfile_state_free). */
copyfile_state_t copyfile_state_alloc(void);
int copyfile_state_free(copyfile_state_t);
/* Read (get) or set one state item; dst/src point at its type (README).
 * @return 0, or -1 and EINVAL for an unknown or unsimulated item. */
int copyfile_state_get(copyfile_state_t s, uint32_t flag, void *__unsafe_indexable dst);
int copyfile_state_set(copyfile_state_t s, uint32_t flag, const void *__unsafe_indexable src);

typedef int (*copyfile_callback_t)(int, int, copyfile_state_t, const char *__unsafe_indexable,
                                   const char *__unsafe_indexable, void *);

#define COPYFILE_STATE_SRC_FD 1
#define COPYFILE_STATE_SRC_FILENAME 2
#define COPYFILE_STATE_DST_FD 3
#define COPYFILE_STATE_DST_FILENAME 4
#define COPYFILE_STATE_QUARANTINE 5
#define COPYFILE_STATE_STATUS_CB 6
#define COPYFILE_STATE_STATUS_CTX 7
#define COPYFILE_STATE_COPIED 8
#define COPYFILE_STATE_XATTRNAME 9
#define COPYFILE_STATE_WAS_CLONED 10
#define COPYFILE_STATE_SRC_BSIZE 11
#define COPYFILE_STATE_DST_BSIZE 12
#define COPYFILE_STATE_BSIZE 13
#define COPYFILE_STATE_FORBID_CROSS_MOUNT 14
#define COPYFILE_STATE_NOCPROTECT 15
#define COPYFILE_STATE_PRESERVE_SUID 16
#define COPYFILE_STATE_RECURSIVE_SRC_FTSENT 17
#define COPYFILE_STATE_FORBID_DST_EXISTING_SYMLINKS 18

#define COPYFILE_DISABLE_VAR "COPYFILE_DISABLE"

/* flags for copyfile */
#define COPYFILE_ACL (1 << 0)
#define COPYFILE_STAT (1 << 1)
#define COPYFILE_XATTR (1 << 2)
#define COPYFILE_DATA (1 << 3)

#define COPYFILE_SECURITY (COPYFILE_STAT | COPYFILE_ACL)
#define COPYFILE_METADATA (COPYFILE_SECURITY | COPYFILE_XATTR)
#define COPYFILE_ALL (COPYFILE_METADATA | COPYFILE_DATA)

#define COPYFILE_RECURSIVE (1 << 15) /* Descend into hierarchies */
#define COPYFILE_CHECK (1 << 16)     /* return flags for xattr or acls if set */
#define COPYFILE_EXCL (1 << 17)      /* fail if destination exists */
#define COPYFILE_NOFOLLOW_SRC (1 << 18) /* don't follow if source is a symlink */
#define COPYFILE_NOFOLLOW_DST (1 << 19) /* don't follow if dst is a symlink */
#define COPYFILE_MOVE (1 << 20)      /* unlink src after copy */
#define COPYFILE_UNLINK (1 << 21)    /* unlink dst before copy */
#define COPYFILE_NOFOLLOW (COPYFILE_NOFOLLOW_SRC | COPYFILE_NOFOLLOW_DST)

#define COPYFILE_PACK (1 << 22)
#define COPYFILE_UNPACK (1 << 23)

#define COPYFILE_CLONE (1 << 24)
#define COPYFILE_CLONE_FORCE (1 << 25)

#define COPYFILE_RUN_IN_PLACE (1 << 26)

#define COPYFILE_DATA_SPARSE (1 << 27)

#define COPYFILE_PRESERVE_DST_TRACKED (1 << 28)

#define COPYFILE_VERBOSE (1 << 30)

#define COPYFILE_RECURSE_ERROR 0
#define COPYFILE_RECURSE_FILE 1
#define COPYFILE_RECURSE_DIR 2
#define COPYFILE_RECURSE_DIR_CLEANUP 3
#define COPYFILE_COPY_DATA 4
#define COPYFILE_COPY_XATTR 5

#define COPYFILE_START 1
#define COPYFILE_FINISH 2
#define COPYFILE_ERR 3
#define COPYFILE_PROGRESS 4

#define COPYFILE_CONTINUE 0
#define COPYFILE_SKIP 1
#define COPYFILE_QUIT 2

#ifdef __cplusplus
}
#endif

#endif /* _COPYFILE_H_ */

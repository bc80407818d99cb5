/*
 * error.c - messages: errno text, operation templates, method names.
 *
 * The library names what failed (enum cowcopy_op) and leaves the quoting of
 * paths to its caller: the command quotes like GNU ls, Python puts the paths
 * in OSError.filename/filename2.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

const char *cowcopy_version(void)
{
    return COWCOPY_VERSION_STRING;
}

const char *cowcopy_strerror(int err)
{
    static _Thread_local char buf[128];
    if (err == 0)
        return "Success";
    /* GNU strerror_r returns a pointer to a static string or into buf. */
    return strerror_r(err < 0 ? -err : err, buf, sizeof buf);
}

static const char *const op_templates[COWCOPY_OP_COUNT] = {
    [COWCOPY_OP_NONE] = "cannot copy %1 to %2",
    [COWCOPY_OP_STAT_SOURCE] = "cannot stat %1",
    [COWCOPY_OP_OPEN_SOURCE] = "cannot open %1 for reading",
    [COWCOPY_OP_READ] = "error reading %1",
    [COWCOPY_OP_STAT_DEST] = "cannot stat %2",
    [COWCOPY_OP_CREATE_DEST] = "cannot create regular file %2",
    [COWCOPY_OP_CLONE] = "cannot clone %1 to %2",
    [COWCOPY_OP_WRITE] = "error writing %2",
    [COWCOPY_OP_COPY] = "error copying %1 to %2",
    [COWCOPY_OP_SET_OWNER] = "failed to preserve ownership for %2",
    [COWCOPY_OP_SET_MODE] = "preserving permissions for %2",
    [COWCOPY_OP_SET_XATTR] = "preserving extended attributes for %2",
    [COWCOPY_OP_SET_TIMES] = "preserving times for %2",
    [COWCOPY_OP_SYNC] = "cannot sync %2",
    [COWCOPY_OP_COMMIT] = "cannot move the new file into place at %2",
    [COWCOPY_OP_SAME_FILE] = "%1 and %2 are the same file",
    [COWCOPY_OP_OMIT_DIR] = "-r not specified; omitting directory %1",
    [COWCOPY_OP_OVERWRITE_DIR] = "cannot overwrite directory %2 with non-directory",
    [COWCOPY_OP_DANGLING_DEST] = "not writing through dangling symlink %2",
    [COWCOPY_OP_INTO_SELF] = "cannot copy a directory, %1, into itself, %2",
    [COWCOPY_OP_OPEN_DIR] = "cannot open directory %1",
    [COWCOPY_OP_READ_DIR] = "cannot read directory %1",
    [COWCOPY_OP_MAKE_DIR] = "cannot create directory %2",
    [COWCOPY_OP_READ_LINK] = "cannot read symbolic link %1",
    [COWCOPY_OP_MAKE_LINK] = "cannot create symbolic link %2",
    [COWCOPY_OP_MAKE_NODE] = "cannot create special file %2",
    [COWCOPY_OP_HARD_LINK] = "cannot create hard link %2",
    [COWCOPY_OP_OVERWRITE_NONDIR] = "cannot overwrite non-directory %2 with directory %1",
    [COWCOPY_OP_SOURCE_CHANGED] = "%1 changed while it was being copied; the copy was discarded",
    [COWCOPY_OP_DEDUPE] = "cannot deduplicate %2 against %1",
    [COWCOPY_OP_DEDUPE_FS] = "cannot deduplicate files on the filesystem of %1",
    [COWCOPY_OP_CACHE] = "ignoring the cache %1",
    [COWCOPY_OP_MAP_EXTENTS] = "cannot read the extent map of %1",
    [COWCOPY_OP_NOT_REGULAR] = "%1 is not a regular file",
    [COWCOPY_OP_SPECIAL_FILE] = "not copying special file %1",
};

const char *cowcopy_op_template(int op)
{
    if (op < 0 || op >= COWCOPY_OP_COUNT || !op_templates[op])
        return op_templates[COWCOPY_OP_NONE];
    return op_templates[op];
}

static const char *const method_names[COWCOPY_METHOD_COUNT] = {
    [COWCOPY_METHOD_NONE] = "failed",        [COWCOPY_METHOD_CLONED] = "cloned",
    [COWCOPY_METHOD_OFFLOADED] = "offloaded", [COWCOPY_METHOD_COPIED] = "copied",
    [COWCOPY_METHOD_SYMLINK] = "symlink",     [COWCOPY_METHOD_SPECIAL] = "special",
    [COWCOPY_METHOD_HARDLINK] = "hardlink",   [COWCOPY_METHOD_SKIPPED] = "skipped",
    [COWCOPY_METHOD_DIRECTORY] = "directory",
};

const char *cowcopy_method_name(int method)
{
    if (method < 0 || method >= COWCOPY_METHOD_COUNT)
        return "unknown";
    return method_names[method];
}

int cowcopy__fail(cowcopy_error *e, int op, const char *call, int err)
{
    if (err <= 0)
        err = EIO; /* a caller passed a stale errno of 0: never report success */
    if (e) {
        e->code = -err;
        e->op = op;
        e->call = call;
    }
    return -err;
}

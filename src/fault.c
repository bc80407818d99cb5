/*
 * fault.c - fault injection through the platform call table (tests only).
 *
 * A spec is a comma-separated list of rules "call[@N[+]|%K]=VALUE":
 *   write@3=ENOSPC      the 3rd call of write fails with ENOSPC
 *   write@3+=ENOSPC     the 3rd and every later call fails
 *   read%2=EINTR        every 2nd call fails with EINTR
 *   ficlone=EOPNOTSUPP  every call fails
 *   write%2=short       every 2nd call moves half the bytes asked for
 * VALUE is an errno name or "short" (only for read, write, pread, pwrite and,
 * on Linux, copy_file_range). Calls are counted per name, across threads, from the
 * moment the spec is installed.
 *
 * Production builds link this file too (C tests call cowcopy__fault_set()
 * directly), but only builds with COWCOPY_TESTING read the COWCOPY_FAULTS
 * environment variable, so a user's environment can never make a release
 * binary fail on purpose.
 */
#include "sys.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FAULT_MAX_RULES = 32, FAULT_SHORT = -1 };

enum fault_call_index {
#define FAULT_INDEX(ret, name, params, args) FAULT_IDX_##name,
    COWCOPY_SYSCALLS(FAULT_INDEX)
#undef FAULT_INDEX
        FAULT_IDX_COUNT
};

static const char *const fault_call_names[] = {
#define FAULT_NAME(ret, name, params, args) #name,
    COWCOPY_SYSCALLS(FAULT_NAME)
#undef FAULT_NAME
};

struct fault_rule {
    int call;       /* enum fault_call_index */
    unsigned long at;    /* first call that fails (1-based); 0 = every call */
    unsigned long every; /* fail every Kth call; 0 = not periodic */
    int onward;     /* with at: also every call after it */
    int value;      /* errno, or FAULT_SHORT */
};

static struct fault_rule fault_rules[FAULT_MAX_RULES];
static int fault_rule_count;
static atomic_ulong fault_counts[FAULT_IDX_COUNT];

static const struct {
    const char *name;
    int value;
} fault_errnos[] = {
    {"ENOSPC", ENOSPC},   {"EINTR", EINTR},     {"EXDEV", EXDEV},   {"EOPNOTSUPP", EOPNOTSUPP},
    {"ENOTSUP", ENOTSUP}, {"EIO", EIO},         {"EINVAL", EINVAL}, {"ENOSYS", ENOSYS},
    {"EPERM", EPERM},     {"EACCES", EACCES},   {"ENOMEM", ENOMEM}, {"EDQUOT", EDQUOT},
    {"ENOENT", ENOENT},   {"EBADF", EBADF},     {"ENOTTY", ENOTTY}, {"ETXTBSY", ETXTBSY},
    {"EEXIST", EEXIST},   {"EAGAIN", EAGAIN},   {"EROFS", EROFS},   {"EFBIG", EFBIG},
    {"ENODATA", ENODATA}, {"E2BIG", E2BIG},     {"ERANGE", ERANGE}, {"EMLINK", EMLINK},
    {"ENAMETOOLONG", ENAMETOOLONG}, {"ELOOP", ELOOP}, {"EISDIR", EISDIR},
    {"ENOTDIR", ENOTDIR}, {"EBADR", EBADR},
};

/* @return the action for this call of `call`: 0 (none), an errno, or FAULT_SHORT. */
static int fault_check(int call)
{
    unsigned long n = atomic_fetch_add(&fault_counts[call], 1) + 1;
    for (int i = 0; i < fault_rule_count; i++) {
        const struct fault_rule *r = &fault_rules[i];
        if (r->call != call)
            continue;
        if (r->every ? n % r->every == 0
                     : (r->at == 0 || n == r->at || (r->onward && n > r->at)))
            return r->value;
    }
    return 0;
}

/* Wrappers for calls that cannot be shortened: fail or pass through. */
#define FAULT_WRAPPER(ret, name, params, args)                                                \
    static ret fault_##name params                                                            \
    {                                                                                         \
        int action = fault_check(FAULT_IDX_##name);                                           \
        if (action > 0) {                                                                     \
            errno = action;                                                                   \
            return (ret)-1;                                                                   \
        }                                                                                     \
        return cowcopy__sys_real.name args;                                                   \
    }
COWCOPY_SYSCALLS(FAULT_WRAPPER)
#undef FAULT_WRAPPER

/* Wrappers for calls with a byte count: "short" halves the count (at least 1). */
static size_t fault_shorten(size_t n)
{
    return n > 1 ? n / 2 : n;
}

static ssize_t fault_short_read(int fd, void *buf, size_t n)
{
    int action = fault_check(FAULT_IDX_read);
    if (action > 0) {
        errno = action;
        return -1;
    }
    return cowcopy__sys_real.read(fd, buf, action == FAULT_SHORT ? fault_shorten(n) : n);
}

static ssize_t fault_short_write(int fd, const void *buf, size_t n)
{
    int action = fault_check(FAULT_IDX_write);
    if (action > 0) {
        errno = action;
        return -1;
    }
    return cowcopy__sys_real.write(fd, buf, action == FAULT_SHORT ? fault_shorten(n) : n);
}

static ssize_t fault_short_pread(int fd, void *buf, size_t n, off_t off)
{
    int action = fault_check(FAULT_IDX_pread);
    if (action > 0) {
        errno = action;
        return -1;
    }
    return cowcopy__sys_real.pread(fd, buf, action == FAULT_SHORT ? fault_shorten(n) : n, off);
}

static ssize_t fault_short_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    int action = fault_check(FAULT_IDX_pwrite);
    if (action > 0) {
        errno = action;
        return -1;
    }
    return cowcopy__sys_real.pwrite(fd, buf, action == FAULT_SHORT ? fault_shorten(n) : n, off);
}

#ifdef HAVE_COPY_FILE_RANGE
static ssize_t fault_short_copy_file_range(int in, off_t *off_in, int out, off_t *off_out,
                                           size_t len, unsigned flags)
{
    int action = fault_check(FAULT_IDX_copy_file_range);
    if (action > 0) {
        errno = action;
        return -1;
    }
    return cowcopy__sys_real.copy_file_range(in, off_in, out, off_out,
                                             action == FAULT_SHORT ? fault_shorten(len) : len,
                                             flags);
}
#endif

static int fault_can_shorten(int call)
{
#ifdef HAVE_COPY_FILE_RANGE
    if (call == FAULT_IDX_copy_file_range)
        return 1;
#endif
    return call == FAULT_IDX_read || call == FAULT_IDX_write || call == FAULT_IDX_pread ||
           call == FAULT_IDX_pwrite;
}

/* Point the live table's entry for `call` at its fault wrapper. */
static void fault_install(int call)
{
    switch (call) {
    case FAULT_IDX_read: cowcopy__sys.read = fault_short_read; return;
    case FAULT_IDX_write: cowcopy__sys.write = fault_short_write; return;
    case FAULT_IDX_pread: cowcopy__sys.pread = fault_short_pread; return;
    case FAULT_IDX_pwrite: cowcopy__sys.pwrite = fault_short_pwrite; return;
#ifdef HAVE_COPY_FILE_RANGE
    case FAULT_IDX_copy_file_range:
        cowcopy__sys.copy_file_range = fault_short_copy_file_range;
        return;
#endif
    default: break;
    }
#define FAULT_SET(ret, name, params, args)                                                    \
    if (call == FAULT_IDX_##name) {                                                           \
        cowcopy__sys.name = fault_##name;                                                     \
        return;                                                                               \
    }
    COWCOPY_SYSCALLS(FAULT_SET)
#undef FAULT_SET
}

/* Parse one rule "call[@N[+]|%K]=VALUE" of length len into *r. @return 0 or -EINVAL. */
static int fault_parse_rule(const char *s, size_t len, struct fault_rule *r)
{
    char buf[96];
    if (len == 0 || len >= sizeof buf)
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *eq = strchr(buf, '=');
    if (!eq)
        return -EINVAL;
    *eq = '\0';
    const char *value = eq + 1;
    memset(r, 0, sizeof *r);
    char *mark = strpbrk(buf, "@%");
    if (mark) {
        char *end;
        unsigned long n = strtoul(mark + 1, &end, 10);
        if (n == 0)
            return -EINVAL;
        if (*mark == '@') {
            r->at = n;
            if (*end == '+') {
                r->onward = 1;
                end++;
            }
        } else {
            r->every = n;
        }
        if (*end != '\0')
            return -EINVAL;
        *mark = '\0';
    }
    r->call = -1;
    for (int i = 0; i < FAULT_IDX_COUNT; i++)
        if (strcmp(buf, fault_call_names[i]) == 0)
            r->call = i;
    if (r->call < 0)
        return -EINVAL;
    if (strcmp(value, "short") == 0) {
        if (!fault_can_shorten(r->call))
            return -EINVAL;
        r->value = FAULT_SHORT;
        return 0;
    }
    for (size_t i = 0; i < sizeof fault_errnos / sizeof fault_errnos[0]; i++)
        if (strcmp(value, fault_errnos[i].name) == 0) {
            r->value = fault_errnos[i].value;
            return 0;
        }
    return -EINVAL;
}

int cowcopy__fault_set(const char *spec)
{
    struct fault_rule parsed[FAULT_MAX_RULES];
    int count = 0;
    for (const char *p = spec; p && *p;) {
        size_t len = strcspn(p, ",");
        if (count == FAULT_MAX_RULES || fault_parse_rule(p, len, &parsed[count]) < 0)
            return -EINVAL;
        count++;
        p += len;
        if (*p == ',')
            p++;
    }
    cowcopy__sys = cowcopy__sys_real;
    memcpy(fault_rules, parsed, sizeof parsed[0] * (size_t)count);
    fault_rule_count = count;
    for (int i = 0; i < FAULT_IDX_COUNT; i++)
        atomic_store(&fault_counts[i], 0);
    for (int i = 0; i < count; i++)
        fault_install(parsed[i].call);
    return 0;
}

void cowcopy__fault_init_from_env(void)
{
#ifdef COWCOPY_TESTING
    static atomic_int done;
    if (atomic_exchange(&done, 1))
        return;
    const char *spec = getenv("COWCOPY_FAULTS");
    if (spec && *spec && cowcopy__fault_set(spec) < 0) {
        fprintf(stderr, "libcowcopy: ignoring malformed COWCOPY_FAULTS '%s'\n", spec);
        abort();
    }
#endif
}

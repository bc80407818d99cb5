/*
 * _cowcopy.c - the C extension behind the cowcopy Python package.
 *
 * A thin, faithful binding of libcowcopy: the one-file copy,
 * cowcopy_file_copy(), the tree copier, cowcopy_tree_copy(), and the calls
 * that inspect and share storage: cowcopy_shared_measure(),
 * cowcopy_usage_measure(), cowcopy_fs_probe() and cowcopy_dedupe().
 * cowcopy/__init__.py builds shutil's semantics and the public API on top
 * of them. This file sees only the public header, cowcopy.h, as any other
 * program would; setup.py compiles the library's own sources (every .c
 * file in ../src) into the same shared object, so no installed libcowcopy
 * is needed.
 *
 * Conventions are CPython's posixmodule.c ones:
 *  - paths are str, bytes or os.PathLike (PyOS_FSPath, PyUnicode_FSConverter;
 *    an embedded NUL is a ValueError);
 *  - failures raise the OSError subclass for the errno (FileNotFoundError,
 *    PermissionError, ...) with filename and filename2 set to the source and
 *    destination (PyErr_SetFromErrnoWithFilenameObjects); on Python 3.11+ a
 *    note says which step failed ("cannot clone 'a' to 'b' (FICLONE on
 *    ext4)"); copying a file onto itself raises shutil.SameFileError;
 *  - calls that report many failures (tree copies, usage, dedupe) collect
 *    them in raw memory from the library's callbacks and return them, as
 *    tuples or as OSError objects, once the call is over;
 *  - the GIL is released around every call into the library, which is
 *    thread-safe, so calls from many Python threads run in parallel. The
 *    library's callbacks run in its worker threads without the GIL and only
 *    record into raw memory (PyMem_Raw*). Called from the main thread, a
 *    tree copy or dedupe runs in a thread of its own while the main thread
 *    waits and runs Python's signal handlers, so that Ctrl-C stops it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "cowcopy.h"

/* Per-module state (PEP 489 multi-phase initialisation). */
typedef struct {
    PyObject *same_file_error; /* shutil.SameFileError */
} module_state;

static module_state *get_state(PyObject *module)
{
    return (module_state *)PyModule_GetState(module);
}

/* A path argument: what os.fspath() returned (str or bytes, used in error
 * messages as os functions use it) and its file-system encoding (bytes). */
typedef struct {
    PyObject *name;
    PyObject *encoded;
} path_arg;

/* Convert obj into *p. @return 0, or -1 with an exception set (TypeError
 * for a non-path, ValueError for an embedded NUL). */
static int path_arg_init(path_arg *p, PyObject *obj)
{
    p->encoded = NULL;
    p->name = PyOS_FSPath(obj);
    if (!p->name)
        return -1;
    if (!PyUnicode_FSConverter(p->name, &p->encoded)) {
        Py_CLEAR(p->name);
        return -1;
    }
    return 0;
}

/* Release what path_arg_init took. Safe on a zeroed path_arg. */
static void path_arg_clear(path_arg *p)
{
    Py_CLEAR(p->name);
    Py_CLEAR(p->encoded);
}

/* The pending exception, normalised, as a new reference; the error
 * indicator is cleared. NULL if none is pending. */
static PyObject *take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
    if (exc && tb)
        PyException_SetTraceback(exc, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return exc;
#endif
}

/* Make exc (a reference that is stolen) the pending exception. */
static void restore_exception(PyObject *exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    PyObject *type = (PyObject *)Py_TYPE(exc);
    Py_INCREF(type);
    PyErr_Restore(type, exc, PyException_GetTraceback(exc));
#endif
}

#if PY_VERSION_HEX >= 0x030B0000 /* notes (PEP 678) are shown from 3.11 on */
/* @return template with "%1" and "%2" replaced by repr(src) and repr(dst),
 * as a new str, or NULL with an exception set. */
static PyObject *format_template(const char *template, PyObject *src, PyObject *dst)
{
    PyObject *text = PyUnicode_FromString(template);
    PyObject *names[2] = {src, dst};
    const char *marks[2] = {"%1", "%2"};
    for (int i = 0; i < 2 && text; i++) {
        PyObject *mark = PyUnicode_FromString(marks[i]);
        PyObject *quoted = PyObject_Repr(names[i]);
        PyObject *next = mark && quoted ? PyUnicode_Replace(text, mark, quoted, -1) : NULL;
        Py_XDECREF(mark);
        Py_XDECREF(quoted);
        Py_SETREF(text, next);
    }
    return text;
}
#endif

/* Attach to the exception object exc a PEP 678 note naming the failed step:
 * op's template with src and dst (None for NULL), then the call and the
 * filesystem, "cannot clone 'a' to 'b' (FICLONE on ext4)" (Python 3.11+;
 * earlier versions do not show notes). Never fails: a note that cannot be
 * made is left out, and the error indicator is left as it was. */
static void add_step_note(PyObject *exc, int op, const char *call, const char *fs,
                          PyObject *src, PyObject *dst)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *pending = take_exception();
    PyObject *text = format_template(cowcopy_op_template(op), src ? src : Py_None,
                                     dst ? dst : Py_None);
    PyObject *note = NULL;
    if (text && call && fs)
        note = PyUnicode_FromFormat("%U (%s on %s)", text, call, fs);
    else if (text && call)
        note = PyUnicode_FromFormat("%U (%s)", text, call);
    else if (text)
        note = Py_NewRef(text);
    PyObject *added = note ? PyObject_CallMethod(exc, "add_note", "O", note) : NULL;
    Py_XDECREF(added);
    Py_XDECREF(note);
    Py_XDECREF(text);
    PyErr_Clear();
    if (pending)
        restore_exception(pending);
#else
    (void)exc;
    (void)op;
    (void)call;
    (void)fs;
    (void)src;
    (void)dst;
#endif
}

/* A new OSError, of the subclass for the errno (FileNotFoundError, ...),
 * for a failure the library reported: code is a positive errno, filename
 * and filename2 (NULL: None) the paths os functions would name, and a note
 * says which step failed (op, call, fs; no note for COWCOPY_OP_NONE unless
 * note_none). @return the exception, or NULL with an exception set. */
static PyObject *os_error(int code, int op, const char *call, const char *fs, PyObject *filename,
                          PyObject *filename2, int note_none)
{
    errno = code;
    PyErr_SetFromErrnoWithFilenameObjects(PyExc_OSError, filename, filename2);
    PyObject *exc = take_exception();
    if (exc && PyObject_TypeCheck(exc, (PyTypeObject *)PyExc_OSError) &&
        (op != COWCOPY_OP_NONE || note_none))
        add_step_note(exc, op, call, fs, filename, filename2);
    if (!exc)
        PyErr_NoMemory();
    return exc;
}

/* os_error(), raised. Returns NULL, for `return raise_os_error(...)`. */
static PyObject *raise_os_error(int code, int op, const char *call, const char *fs,
                                PyObject *filename, PyObject *filename2, int note_none)
{
    PyObject *exc = os_error(code, op, call, fs, filename, filename2, note_none);
    if (exc)
        restore_exception(exc);
    return NULL;
}

/* Raise the exception for a failed copy (code: a negative errno). Returns
 * NULL so callers can `return raise_copy_error(...)`. */
static PyObject *raise_copy_error(module_state *st, int code, const cowcopy_result *res,
                                  PyObject *src_arg, PyObject *dst_arg, PyObject *src,
                                  PyObject *dst)
{
    if (res->error.op == COWCOPY_OP_SAME_FILE) {
        /* shutil's own wording, with the arguments as given. */
        PyErr_Format(st->same_file_error, "%R and %R are the same file", src_arg, dst_arg);
        return NULL;
    }
    return raise_os_error(-code, res->error.op, res->error.call, res->error.fs, src, dst, 1);
}

PyDoc_STRVAR(copy_file_doc,
"copy_file(src, dst, reflink=REFLINK_AUTO, preserve=0, preserve_required=0, flags=0)\n"
"--\n\n"
"Copy one file with cowcopy_file_copy() and return a tuple\n"
"(method, bytes, hole_bytes, fallback_errno, fallback_call).\n\n"
"method is \"cloned\", \"offloaded\", \"copied\", \"symlink\", \"special\" or\n"
"\"skipped\"; fallback_errno and fallback_call name the first call that\n"
"refused (errno 0 when it returned no data), or are None. The arguments are\n"
"the library's REFLINK_*, PRESERVE_* and flag constants of this module.\n"
"Raises an OSError subclass with filename and filename2, or\n"
"shutil.SameFileError. Releases the GIL while copying.");

static PyObject *cowcopy_copy_file(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"src", "dst", "reflink", "preserve", "preserve_required", "flags",
                               NULL};
    PyObject *src_arg, *dst_arg;
    int reflink = COWCOPY_REFLINK_AUTO;
    unsigned long preserve = 0, required = 0, flags = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|ikkk:copy_file", keywords, &src_arg,
                                     &dst_arg, &reflink, &preserve, &required, &flags))
        return NULL;
    if (reflink < COWCOPY_REFLINK_AUTO || reflink > COWCOPY_REFLINK_NEVER) {
        PyErr_Format(PyExc_ValueError, "invalid reflink mode %d", reflink);
        return NULL;
    }
    if ((preserve & ~(unsigned long)COWCOPY_PRESERVE_ALL) || (required & ~preserve) ||
        (flags & ~(unsigned long)COWCOPY_FLAGS_ALL)) {
        PyErr_SetString(PyExc_ValueError,
                        "invalid preserve, preserve_required or flags bits");
        return NULL;
    }

    path_arg src = {0}, dst = {0};
    PyObject *ret = NULL;
    if (path_arg_init(&src, src_arg) < 0 || path_arg_init(&dst, dst_arg) < 0)
        goto out;

    cowcopy_options opts;
    cowcopy_options_init(&opts);
    opts.reflink = reflink;
    opts.preserve = (unsigned)preserve;
    opts.preserve_required = (unsigned)required;
    opts.flags = (unsigned)flags;
    cowcopy_result res;
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = cowcopy_file_copy(PyBytes_AS_STRING(src.encoded), PyBytes_AS_STRING(dst.encoded), &opts,
                          &res);
    Py_END_ALLOW_THREADS
    if (r < 0) {
        raise_copy_error(get_state(module), r, &res, src_arg, dst_arg, src.name, dst.name);
        goto out;
    }
    if (res.fallback_call)
        ret = Py_BuildValue("(sKKis)", cowcopy_method_name(res.method),
                            (unsigned long long)res.bytes, (unsigned long long)res.hole_bytes,
                            res.fallback_errno, res.fallback_call);
    else
        ret = Py_BuildValue("(sKKOO)", cowcopy_method_name(res.method),
                            (unsigned long long)res.bytes, (unsigned long long)res.hole_bytes,
                            Py_None, Py_None);
out:
    path_arg_clear(&src);
    path_arg_clear(&dst);
    return ret;
}

/* ------------------------------------------------- failures, kept without the GIL */

/* One failure reported to an on_error callback, copied into raw memory. */
typedef struct {
    int code;         /* negative errno */
    int op;           /* enum cowcopy_op */
    char *call;       /* the failing call, or NULL */
    char *src, *dst;  /* the paths involved, or NULL */
    char *fs;         /* the filesystem's name, or NULL */
} kept_error;         /* strings: PyMem_Raw copies (the library's are valid
                         only during the callback) */

/* The failures of one call. Filled by callbacks that run in the library's
 * worker threads without the GIL, one at a time (the library serialises
 * them); read once the call has returned. */
typedef struct {
    kept_error *items;
    size_t count, cap;
    int out_of_memory;
} error_log;

/* strdup with PyMem_RawMalloc (callable without the GIL). NULL stays NULL;
 * *failed is set when memory runs out. */
static char *raw_strdup(const char *s, int *failed)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = PyMem_RawMalloc(n);
    if (!p) {
        *failed = 1;
        return NULL;
    }
    memcpy(p, s, n);
    return p;
}

/* Grow *items (of `size`-byte elements, *cap of them) to hold one more than
 * count, with PyMem_RawRealloc. @return 0, or -1 when memory runs out. */
static int raw_grow(void **items, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 16;
    void *grown = PyMem_RawRealloc(*items, n * size);
    if (!grown)
        return -1;
    *items = grown;
    *cap = n;
    return 0;
}

/* Keep a copy of e. Without the GIL. @return nonzero once memory ran out. */
static int error_log_add(error_log *log, const cowcopy_error *e)
{
    if (raw_grow((void **)&log->items, &log->cap, log->count, sizeof *log->items) < 0) {
        log->out_of_memory = 1;
        return 1;
    }
    kept_error *k = &log->items[log->count++];
    k->code = e->code;
    k->op = e->op;
    k->call = raw_strdup(e->call, &log->out_of_memory);
    k->src = raw_strdup(e->src, &log->out_of_memory);
    k->dst = raw_strdup(e->dst, &log->out_of_memory);
    k->fs = raw_strdup(e->fs, &log->out_of_memory);
    return log->out_of_memory;
}

/* on_error callback: keep the failure; stop only when memory runs out. */
static int log_on_error(void *data, const cowcopy_error *e)
{
    return error_log_add(data, e);
}

static void error_log_free(error_log *log)
{
    for (size_t i = 0; i < log->count; i++) {
        PyMem_RawFree(log->items[i].call);
        PyMem_RawFree(log->items[i].src);
        PyMem_RawFree(log->items[i].dst);
        PyMem_RawFree(log->items[i].fs);
    }
    PyMem_RawFree(log->items);
    memset(log, 0, sizeof *log);
}

/* A path reported by the library, as the type the caller used: bytes for
 * bytes, else str (file-system encoding, surrogateescape). NULL is None. */
static PyObject *path_result(const char *path, PyObject *like)
{
    if (!path)
        Py_RETURN_NONE;
    if (PyBytes_Check(like))
        return PyBytes_FromString(path);
    return PyUnicode_DecodeFSDefault(path);
}

/* The failures of log whose op is (want_op != 0) or is not (want_op == 0)
 * COWCOPY_OP_CACHE, as a list of OSError objects with filename (the
 * failure's src) and filename2 (its dst, or None), paths of like's type. */
static PyObject *errors_list(const error_log *log, PyObject *like, int cache_ones)
{
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && i < log->count; i++) {
        const kept_error *k = &log->items[i];
        if ((k->op == COWCOPY_OP_CACHE) != (cache_ones != 0))
            continue;
        PyObject *s = path_result(k->src, like);
        PyObject *d = s ? path_result(k->dst, like) : NULL;
        PyObject *exc = d ? os_error(-k->code, k->op, k->call, k->fs, s,
                                     d == Py_None ? NULL : d, 0)
                          : NULL;
        if (!exc || PyList_Append(list, exc) < 0)
            Py_CLEAR(list);
        Py_XDECREF(exc);
        Py_XDECREF(s);
        Py_XDECREF(d);
    }
    return list;
}

/* ------------------------------------------- long calls, stoppable by signals */

/* A library call run in a thread of its own while the calling (main) thread
 * waits for it and runs Python's signal handlers: body(arg) must use the
 * library only, and poll `stop` (through a progress callback) to end early. */
typedef struct {
    void (*body)(void *arg);
    void *arg;
    int stop;                 /* set by the waiting thread, read by progress
                                 callbacks (__atomic builtins) */
    PyThread_type_lock done;  /* held until body has returned */
    PyObject *exc;            /* what a signal handler raised, or NULL */
} background;

/* A progress callback's answer: nonzero once the waiting thread asked the
 * call to stop. Runs in a worker thread, without the GIL. */
static int background_stopping(const background *bg)
{
    return __atomic_load_n(&bg->stop, __ATOMIC_RELAXED);
}

/* The thread's body (no Python state: the library only). */
static void background_thread(void *data)
{
    background *bg = data;
    bg->body(bg->arg);
    PyThread_release_lock(bg->done);
}

/* Run bg->body(bg->arg) in a thread of its own while this (the main) thread
 * waits with the GIL released and runs Python's signal handlers whenever a
 * signal interrupts the wait, or every 20 ms (a signal may land in another
 * thread). When a handler raises, its exception is kept in bg->exc and the
 * call is asked to stop (bg->stop); the wait goes on until the body has
 * returned. @return 0, or -1 with an exception set when no thread could be
 * started. */
static int run_in_background(background *bg)
{
    bg->done = PyThread_allocate_lock();
    if (!bg->done) {
        PyErr_NoMemory();
        return -1;
    }
    PyThread_acquire_lock(bg->done, WAIT_LOCK);
    if (PyThread_start_new_thread(background_thread, bg) == PYTHREAD_INVALID_THREAD_ID) {
        PyThread_release_lock(bg->done);
        PyThread_free_lock(bg->done);
        PyErr_SetString(PyExc_RuntimeError, "cannot start a thread for the call");
        return -1;
    }
    for (;;) {
        PyLockStatus status;
        Py_BEGIN_ALLOW_THREADS
        status = PyThread_acquire_lock_timed(bg->done, 20000, 1);
        Py_END_ALLOW_THREADS
        if (status == PY_LOCK_ACQUIRED)
            break;
        if (!bg->exc && PyErr_CheckSignals() < 0) {
            bg->exc = take_exception();
            __atomic_store_n(&bg->stop, 1, __ATOMIC_RELAXED);
        }
    }
    PyThread_release_lock(bg->done);
    PyThread_free_lock(bg->done);
    return 0;
}

/* Run body(arg): in the background (see run_in_background) when
 * check_signals, else here with the GIL released. @return 0, or -1 with an
 * exception set: a signal handler's (the call stopped early), or none could
 * start a thread. */
static int run_released(background *bg, int check_signals)
{
    if (check_signals) {
        if (run_in_background(bg) < 0)
            return -1;
        if (bg->exc) {
            restore_exception(bg->exc);
            bg->exc = NULL;
            return -1;
        }
        return 0;
    }
    Py_BEGIN_ALLOW_THREADS
    bg->body(bg->arg);
    Py_END_ALLOW_THREADS
    return 0;
}

/* ------------------------------------------------------------ trees */

/* A tree_copy() call: its arguments and results. */
typedef struct {
    const char *src, *dst;
    cowcopy_tree_options opts;
    cowcopy_tree_stats stats;
    int result; /* cowcopy_tree_copy()'s */
    error_log failures;
    background bg;
} tree_call;

/* progress: stop the copy once the waiting thread asked for it. */
static int tree_on_progress(void *data, const cowcopy_tree_stats *stats)
{
    (void)stats;
    return background_stopping(data);
}

static void tree_body(void *data)
{
    tree_call *c = data;
    c->result = cowcopy_tree_copy(c->src, c->dst, &c->opts, &c->stats);
}

/* (errno, op, call, src, dst) tuples of the failures. */
static PyObject *failures_list(const error_log *log, PyObject *src, PyObject *dst)
{
    PyObject *list = PyList_New((Py_ssize_t)log->count);
    for (size_t i = 0; list && i < log->count; i++) {
        const kept_error *f = &log->items[i];
        PyObject *s = path_result(f->src, src), *d = path_result(f->dst, dst);
        PyObject *item = s && d ? Py_BuildValue("(iizOO)", -f->code, f->op, f->call, s, d)
                                : NULL;
        Py_XDECREF(s);
        Py_XDECREF(d);
        if (!item)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

static PyObject *stats_dict(const cowcopy_tree_stats *s)
{
    return Py_BuildValue(
        "{sKsKsKsKsKsKsKsKsKsKsKsKsisd}", "files", (unsigned long long)s->files, "cloned",
        (unsigned long long)s->cloned, "offloaded", (unsigned long long)s->offloaded, "copied",
        (unsigned long long)s->copied, "bytes", (unsigned long long)s->bytes, "hole_bytes",
        (unsigned long long)s->hole_bytes, "directories", (unsigned long long)s->directories,
        "symlinks", (unsigned long long)s->symlinks, "hardlinks",
        (unsigned long long)s->hardlinks, "specials", (unsigned long long)s->specials,
        "skipped", (unsigned long long)s->skipped, "errors", (unsigned long long)s->errors,
        "threads", s->threads, "elapsed", s->elapsed);
}

PyDoc_STRVAR(tree_copy_doc,
"tree_copy(src, dst, reflink=REFLINK_AUTO, preserve=0, preserve_required=0, flags=0,\n"
"          tree_flags=0, threads=0, check_signals=False)\n"
"--\n\n"
"Copy the tree src to dst with cowcopy_tree_copy() and return a tuple\n"
"(failures, stats).\n\n"
"failures lists every entry that failed, in the order the library reported\n"
"them, as (errno, op, call, src, dst) tuples: op is one of the OP_*\n"
"constants, call the system call that failed or None, src and dst the\n"
"entry's paths (bytes if the argument was bytes, else str). stats is a dict\n"
"of the library's counters (files, cloned, offloaded, copied, bytes,\n"
"hole_bytes, directories, symlinks, hardlinks, specials, skipped, errors,\n"
"threads, elapsed). reflink, preserve, preserve_required and flags are as\n"
"for copy_file; tree_flags are TREE_* constants; threads 0 lets the library\n"
"choose (2). The GIL is released while the\n"
"tree is copied. With check_signals (for the main thread), the copy runs in\n"
"a thread of its own while this one runs Python's signal handlers; an\n"
"exception they raise (such as KeyboardInterrupt) stops the copy between\n"
"entries and is raised once it has stopped. Raises an OSError subclass only\n"
"when the copy failed without reporting an entry.");

static PyObject *cowcopy_tree_copy_py(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"src", "dst", "reflink", "preserve", "preserve_required",
                               "flags", "tree_flags", "threads", "check_signals", NULL};
    PyObject *src_arg, *dst_arg;
    int reflink = COWCOPY_REFLINK_AUTO, threads = 0, check_signals = 0;
    unsigned long preserve = 0, required = 0, flags = 0, tree_flags = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|ikkkkip:tree_copy", keywords, &src_arg,
                                     &dst_arg, &reflink, &preserve, &required, &flags,
                                     &tree_flags, &threads, &check_signals))
        return NULL;
    if (reflink < COWCOPY_REFLINK_AUTO || reflink > COWCOPY_REFLINK_NEVER) {
        PyErr_Format(PyExc_ValueError, "invalid reflink mode %d", reflink);
        return NULL;
    }
    if ((preserve & ~(unsigned long)COWCOPY_PRESERVE_ALL) || (required & ~preserve) ||
        (flags & ~(unsigned long)COWCOPY_FLAGS_ALL) ||
        (tree_flags & ~(unsigned long)COWCOPY_TREE_FLAGS_ALL)) {
        PyErr_SetString(PyExc_ValueError,
                        "invalid preserve, preserve_required, flags or tree_flags bits");
        return NULL;
    }
    if (threads < 0) {
        PyErr_SetString(PyExc_ValueError, "threads must be 0 (the library's choice) or more");
        return NULL;
    }

    path_arg src = {0}, dst = {0};
    PyObject *ret = NULL;
    tree_call call;
    memset(&call, 0, sizeof call);
    if (path_arg_init(&src, src_arg) < 0 || path_arg_init(&dst, dst_arg) < 0)
        goto out;

    call.src = PyBytes_AS_STRING(src.encoded);
    call.dst = PyBytes_AS_STRING(dst.encoded);
    cowcopy_tree_options_init(&call.opts);
    call.opts.file.reflink = reflink;
    call.opts.file.preserve = (unsigned)preserve;
    call.opts.file.preserve_required = (unsigned)required;
    call.opts.file.flags = (unsigned)flags;
    call.opts.flags = (unsigned)tree_flags;
    call.opts.threads = threads;
    call.opts.on_error = log_on_error;
    call.opts.error_data = &call.failures;
    call.bg.body = tree_body;
    call.bg.arg = &call;
    if (check_signals) {
        call.opts.progress = tree_on_progress;
        call.opts.progress_data = &call.bg;
        call.opts.progress_ms = 10;
    }
    if (run_released(&call.bg, check_signals) < 0)
        goto out;
    int r = call.result;
    if (call.failures.out_of_memory) {
        PyErr_NoMemory();
        goto out;
    }
    if (r < 0 && call.failures.count == 0) {
        raise_os_error(-r, COWCOPY_OP_NONE, NULL, NULL, src.name, dst.name, 0);
        goto out;
    }
    PyObject *failures = failures_list(&call.failures, src.name, dst.name);
    PyObject *counters = failures ? stats_dict(&call.stats) : NULL;
    if (failures && counters)
        ret = PyTuple_Pack(2, failures, counters);
    Py_XDECREF(failures);
    Py_XDECREF(counters);
out:
    error_log_free(&call.failures);
    path_arg_clear(&src);
    path_arg_clear(&dst);
    return ret;
}

/* ------------------------------------------------------------ several paths */

/* A sequence of path arguments, encoded for the library. */
typedef struct {
    Py_ssize_t count;
    path_arg *args;      /* PyMem (with the GIL) */
    const char **names;  /* their encodings, for the library */
} path_list;

/* Convert the sequence seq into *pl for the function named what: at least
 * one path (else ValueError), all str-like or all bytes-like (else
 * TypeError, as os.path.join). @return 0, or -1 with an exception set.
 * path_list_clear() is needed either way. */
static int path_list_init(path_list *pl, PyObject *seq, const char *what)
{
    memset(pl, 0, sizeof *pl);
    PyObject *fast = PySequence_Fast(seq, "paths must be a sequence");
    if (!fast)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    pl->args = PyMem_Calloc(n ? (size_t)n : 1, sizeof *pl->args);
    pl->names = PyMem_Calloc(n ? (size_t)n : 1, sizeof *pl->names);
    if (!pl->args || !pl->names) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    int r = 0;
    for (Py_ssize_t i = 0; i < n && r == 0; i++) {
        r = path_arg_init(&pl->args[i], PySequence_Fast_GET_ITEM(fast, i));
        if (r == 0) {
            pl->count = i + 1;
            pl->names[i] = PyBytes_AS_STRING(pl->args[i].encoded);
            if (PyBytes_Check(pl->args[i].name) != PyBytes_Check(pl->args[0].name)) {
                PyErr_SetString(PyExc_TypeError, "Can't mix strings and bytes in paths");
                r = -1;
            }
        }
    }
    Py_DECREF(fast);
    if (r == 0 && n == 0) {
        PyErr_Format(PyExc_ValueError, "%s() needs at least one path", what);
        r = -1;
    }
    return r;
}

static void path_list_clear(path_list *pl)
{
    for (Py_ssize_t i = 0; i < pl->count; i++)
        path_arg_clear(&pl->args[i]);
    PyMem_Free(pl->args);
    PyMem_Free(pl->names);
    memset(pl, 0, sizeof *pl);
}

/* ------------------------------------------------------------ shared bytes */

PyDoc_STRVAR(shared_bytes_doc,
"shared_bytes(file, other)\n"
"--\n\n"
"How many bytes of other's data sit on the same physical blocks as file's\n"
"data, with cowcopy_shared_measure(): a tuple (shared_bytes, data_bytes,\n"
"size, basis), basis one of the SHARED_* constants. Raises an OSError\n"
"subclass whose filename is the path that failed (filename2 None).\n"
"Releases the GIL while the files are mapped.");

static PyObject *cowcopy_shared_bytes(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"file", "other", NULL};
    PyObject *file_arg, *other_arg;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:shared_bytes", keywords, &file_arg,
                                     &other_arg))
        return NULL;
    path_arg file = {0}, other = {0};
    PyObject *ret = NULL;
    if (path_arg_init(&file, file_arg) < 0 || path_arg_init(&other, other_arg) < 0)
        goto out;
    const char *names[1] = {PyBytes_AS_STRING(other.encoded)};
    cowcopy_shared res;
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = cowcopy_shared_measure(PyBytes_AS_STRING(file.encoded), names, 1, &res);
    Py_END_ALLOW_THREADS
    if (r < 0) {
        PyObject *which = res.error.src == names[0] ? other.name : file.name;
        raise_os_error(res.error.code ? -res.error.code : -r, res.error.op, res.error.call,
                       res.error.fs, which, NULL, 0);
        goto out;
    }
    ret = Py_BuildValue("(KKKi)", (unsigned long long)res.shared_bytes,
                        (unsigned long long)res.data_bytes, (unsigned long long)res.size,
                        res.basis);
out:
    path_arg_clear(&file);
    path_arg_clear(&other);
    return ret;
}

/* ------------------------------------------------------------ usage */

typedef struct {
    const path_list *paths;
    cowcopy_usage_options opts;
    cowcopy_usage usage;
    int result;
    error_log failures;
} usage_call;

static void usage_body(void *data)
{
    usage_call *c = data;
    c->result = cowcopy_usage_measure(c->paths->names, (size_t)c->paths->count, &c->opts,
                                      &c->usage);
}

PyDoc_STRVAR(usage_doc,
"usage(paths, flags=0, threads=0)\n"
"--\n\n"
"Storage used by the regular files under paths (a sequence), with\n"
"cowcopy_usage_measure(): a tuple (counters, errors, result). counters is a\n"
"dict (files, apparent_bytes, total_bytes, exclusive_bytes,\n"
"set_shared_bytes, saved_bytes, inline_bytes, threads, elapsed); errors a\n"
"list of OSError objects, one per path that could not be measured\n"
"(filename: that path, of the type of the arguments); result the library's\n"
"return value (0, or a negative errno). flags are USAGE_* constants,\n"
"threads 0 the library's choice. Releases the GIL while measuring.");

static PyObject *cowcopy_usage_py(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"paths", "flags", "threads", NULL};
    PyObject *paths_arg;
    unsigned long flags = 0;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|ki:usage", keywords, &paths_arg, &flags,
                                     &threads))
        return NULL;
    if ((flags & ~(unsigned long)COWCOPY_USAGE_FLAGS_ALL) || threads < 0) {
        PyErr_SetString(PyExc_ValueError, "invalid usage flags or threads");
        return NULL;
    }
    path_list paths;
    usage_call call;
    memset(&call, 0, sizeof call);
    PyObject *ret = NULL;
    if (path_list_init(&paths, paths_arg, "usage") < 0)
        goto out;
    call.paths = &paths;
    cowcopy_usage_options_init(&call.opts);
    call.opts.flags = (unsigned)flags;
    call.opts.threads = threads;
    call.opts.on_error = log_on_error;
    call.opts.error_data = &call.failures;
    Py_BEGIN_ALLOW_THREADS
    usage_body(&call);
    Py_END_ALLOW_THREADS
    if (call.failures.out_of_memory) {
        PyErr_NoMemory();
        goto out;
    }
    const cowcopy_usage *u = &call.usage;
    PyObject *counters = Py_BuildValue(
        "{sKsKsKsKsKsKsKsisd}", "files", (unsigned long long)u->files, "apparent_bytes",
        (unsigned long long)u->apparent_bytes, "total_bytes", (unsigned long long)u->total_bytes,
        "exclusive_bytes", (unsigned long long)u->exclusive_bytes, "set_shared_bytes",
        (unsigned long long)u->set_shared_bytes, "saved_bytes",
        (unsigned long long)u->saved_bytes, "inline_bytes", (unsigned long long)u->inline_bytes,
        "threads", u->threads, "elapsed", u->elapsed);
    PyObject *errors = counters ? errors_list(&call.failures, paths.args[0].name, 0) : NULL;
    if (counters && errors)
        ret = Py_BuildValue("(OOi)", counters, errors, call.result);
    Py_XDECREF(counters);
    Py_XDECREF(errors);
out:
    error_log_free(&call.failures);
    path_list_clear(&paths);
    return ret;
}

/* ------------------------------------------------------------ probe */

/* (answer, errno or None, call or None) of one probe check. */
static PyObject *probe_check(const cowcopy_probe_check *c)
{
    if (c->answer == COWCOPY_PROBE_YES)
        return Py_BuildValue("(sOO)", cowcopy_probe_answer_name(c->answer), Py_None, Py_None);
    return Py_BuildValue("(siz)", cowcopy_probe_answer_name(c->answer), c->err, c->call);
}

PyDoc_STRVAR(probe_doc,
"probe(dir)\n"
"--\n\n"
"What the filesystem holding the directory dir can do, with\n"
"cowcopy_fs_probe(): a tuple (fs_name, fs_magic, block_size, writable,\n"
"clone, dedupe, offload), each of the last three an (answer, errno, call)\n"
"tuple with answer \"yes\", \"no\" or \"unknown\" (errno and call None for\n"
"\"yes\"). Raises an OSError subclass with filename dir when dir cannot be\n"
"examined. Releases the GIL while probing.");

static PyObject *cowcopy_probe_py(PyObject *module, PyObject *arg)
{
    (void)module;
    path_arg dir = {0};
    PyObject *ret = NULL;
    if (path_arg_init(&dir, arg) < 0)
        goto out;
    cowcopy_probe p;
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = cowcopy_fs_probe(PyBytes_AS_STRING(dir.encoded), &p);
    Py_END_ALLOW_THREADS
    if (r < 0) {
        raise_os_error(p.error.code ? -p.error.code : -r, p.error.op, p.error.call, p.error.fs,
                       dir.name, NULL, 0);
        goto out;
    }
    PyObject *clone = probe_check(&p.clone), *dedupe = probe_check(&p.dedupe),
             *offload = probe_check(&p.offload);
    if (clone && dedupe && offload)
        ret = Py_BuildValue("(sKKOOOO)", p.fs_name, (unsigned long long)p.fs_magic,
                            (unsigned long long)p.block_size, p.writable ? Py_True : Py_False,
                            clone, dedupe, offload);
    Py_XDECREF(clone);
    Py_XDECREF(dedupe);
    Py_XDECREF(offload);
out:
    path_arg_clear(&dir);
    return ret;
}

/* ------------------------------------------------------------ dedupe */

/* A group of identical files, copied into raw memory without the GIL. */
typedef struct {
    uint64_t size;
    size_t count;
    char **paths; /* PyMem_Raw */
    int *status;  /* PyMem_Raw */
} kept_group;

typedef struct {
    const path_list *paths;
    cowcopy_dedupe_options opts;
    cowcopy_dedupe_stats stats;
    int result;
    error_log failures;  /* errors and cache warnings */
    kept_group *groups;
    size_t ngroups, groups_cap;
    int groups_out_of_memory;
    background bg;
} dedupe_call;

/* on_group: keep a copy of the group. Runs in a worker thread without the
 * GIL; the library serialises these calls. */
static void dedupe_on_group(void *data, const cowcopy_dedupe_group *g)
{
    dedupe_call *c = data;
    if (c->groups_out_of_memory)
        return;
    if (raw_grow((void **)&c->groups, &c->groups_cap, c->ngroups, sizeof *c->groups) < 0) {
        c->groups_out_of_memory = 1;
        return;
    }
    kept_group *k = &c->groups[c->ngroups];
    k->size = g->size;
    k->count = g->count;
    k->paths = PyMem_RawCalloc(g->count ? g->count : 1, sizeof *k->paths);
    k->status = PyMem_RawCalloc(g->count ? g->count : 1, sizeof *k->status);
    int failed = !k->paths || !k->status;
    for (size_t i = 0; !failed && i < g->count; i++) {
        k->paths[i] = raw_strdup(g->paths[i], &failed);
        k->status[i] = g->status[i];
    }
    c->ngroups++; /* kept even when incomplete, so that it is freed */
    if (failed)
        c->groups_out_of_memory = 1;
}

static int dedupe_on_progress(void *data, const cowcopy_dedupe_stats *stats)
{
    (void)stats;
    return background_stopping(data);
}

static void dedupe_body(void *data)
{
    dedupe_call *c = data;
    c->result = cowcopy_dedupe(c->paths->names, (size_t)c->paths->count, &c->opts, &c->stats);
}

static void dedupe_call_free(dedupe_call *c)
{
    for (size_t i = 0; i < c->ngroups; i++) {
        for (size_t k = 0; c->groups[i].paths && k < c->groups[i].count; k++)
            PyMem_RawFree(c->groups[i].paths[k]);
        PyMem_RawFree(c->groups[i].paths);
        PyMem_RawFree(c->groups[i].status);
    }
    PyMem_RawFree(c->groups);
    error_log_free(&c->failures);
}

/* [(size, [(path, status), ...]), ...] of the kept groups. */
static PyObject *groups_list(const dedupe_call *c, PyObject *like)
{
    PyObject *list = PyList_New((Py_ssize_t)c->ngroups);
    for (size_t i = 0; list && i < c->ngroups; i++) {
        const kept_group *g = &c->groups[i];
        PyObject *files = PyList_New((Py_ssize_t)g->count);
        for (size_t k = 0; files && k < g->count; k++) {
            PyObject *path = path_result(g->paths[k], like);
            PyObject *item = path ? Py_BuildValue("(Oi)", path, g->status[k]) : NULL;
            Py_XDECREF(path);
            if (!item)
                Py_CLEAR(files);
            else
                PyList_SET_ITEM(files, (Py_ssize_t)k, item);
        }
        PyObject *group = files ? Py_BuildValue("(KO)", (unsigned long long)g->size, files)
                                : NULL;
        Py_XDECREF(files);
        if (!group)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, group);
    }
    return list;
}

PyDoc_STRVAR(dedupe_doc,
"dedupe(paths, flags=0, min_size=0, threads=0, cache=None, groups=False,\n"
"       check_signals=False)\n"
"--\n\n"
"Make identical files under paths (a sequence) share their data, with\n"
"cowcopy_dedupe(): a tuple (stats, errors, warnings, groups, result).\n"
"stats is a dict of the library's counters, named as by cowcopy dedupe\n"
"--json (files_scanned, bytes_scanned, bytes_read, cache_hits,\n"
"duplicate_groups, files_deduplicated, bytes_deduplicated,\n"
"files_already_shared, bytes_differed, freed_estimate, freed, elapsed);\n"
"errors a list of OSError\n"
"objects (filename: the file, or the source a file was to share with,\n"
"filename2 then that file), warnings the same for a cache that was ignored;\n"
"groups, with groups true, a list of (size, [(path, status), ...]) per\n"
"group of identical files (else empty), status a DEDUPE_* constant; result the\n"
"library's return value. Paths come back as the type of the arguments.\n"
"flags are DEDUPE_* flags, threads 0 the library's choice, cache a path\n"
"for the SQLite hash cache or None. The GIL is released during the run;\n"
"with check_signals (for the main thread) it runs in a thread of its own\n"
"while this one runs Python's signal handlers, and an exception they raise\n"
"stops the run and is raised once it has stopped.");

static PyObject *cowcopy_dedupe_py(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"paths", "flags", "min_size", "threads", "cache", "groups",
                               "check_signals", NULL};
    PyObject *paths_arg, *cache_arg = Py_None;
    unsigned long flags = 0;
    unsigned long long min_size = 0;
    int threads = 0, want_groups = 0, check_signals = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|kKiOpp:dedupe", keywords, &paths_arg,
                                     &flags, &min_size, &threads, &cache_arg, &want_groups,
                                     &check_signals))
        return NULL;
    if ((flags & ~(unsigned long)COWCOPY_DEDUPE_FLAGS_ALL) || threads < 0) {
        PyErr_SetString(PyExc_ValueError, "invalid dedupe flags or threads");
        return NULL;
    }
    path_list paths;
    path_arg cache = {0};
    dedupe_call call;
    memset(&call, 0, sizeof call);
    PyObject *ret = NULL;
    if (path_list_init(&paths, paths_arg, "dedupe") < 0)
        goto out;
    if (cache_arg != Py_None && path_arg_init(&cache, cache_arg) < 0)
        goto out;
    call.paths = &paths;
    cowcopy_dedupe_options_init(&call.opts);
    call.opts.flags = (unsigned)flags;
    call.opts.min_size = min_size;
    call.opts.threads = threads;
    call.opts.cache_path = cache.encoded ? PyBytes_AS_STRING(cache.encoded) : NULL;
    call.opts.on_error = log_on_error;
    call.opts.error_data = &call.failures;
    if (want_groups) {
        call.opts.on_group = dedupe_on_group;
        call.opts.group_data = &call;
    }
    if (check_signals) {
        call.opts.progress = dedupe_on_progress;
        call.opts.progress_data = &call.bg;
        call.opts.progress_ms = 10;
    }
    call.bg.body = dedupe_body;
    call.bg.arg = &call;
    if (run_released(&call.bg, check_signals) < 0)
        goto out;
    if (call.failures.out_of_memory || call.groups_out_of_memory) {
        PyErr_NoMemory();
        goto out;
    }
    const cowcopy_dedupe_stats *s = &call.stats;
    PyObject *like = paths.args[0].name;
    PyObject *stats = Py_BuildValue(
        "{sKsKsKsKsKsKsKsKsKsKsLsd}", "files_scanned", (unsigned long long)s->files_scanned,
        "bytes_scanned", (unsigned long long)s->bytes_scanned, "bytes_read",
        (unsigned long long)s->bytes_read, "cache_hits", (unsigned long long)s->cache_hits,
        "duplicate_groups", (unsigned long long)s->groups, "files_deduplicated",
        (unsigned long long)s->files_deduped, "bytes_deduplicated",
        (unsigned long long)s->bytes_deduped, "files_already_shared",
        (unsigned long long)s->files_already_shared, "bytes_differed",
        (unsigned long long)s->bytes_differed, "freed_estimate",
        (unsigned long long)s->freed_estimate, "freed", (long long)s->freed, "elapsed",
        s->elapsed);
    PyObject *errors = stats ? errors_list(&call.failures, like, 0) : NULL;
    PyObject *warnings = errors ? errors_list(&call.failures, like, 1) : NULL;
    PyObject *groups = !warnings ? NULL : want_groups ? groups_list(&call, like)
                                                      : PyList_New(0);
    if (groups)
        ret = Py_BuildValue("(OOOOi)", stats, errors, warnings, groups, call.result);
    Py_XDECREF(stats);
    Py_XDECREF(errors);
    Py_XDECREF(warnings);
    Py_XDECREF(groups);
out:
    dedupe_call_free(&call);
    path_arg_clear(&cache);
    path_list_clear(&paths);
    return ret;
}

static PyMethodDef cowcopy_methods[] = {
    {"copy_file", (PyCFunction)(void (*)(void))cowcopy_copy_file, METH_VARARGS | METH_KEYWORDS,
     copy_file_doc},
    {"tree_copy", (PyCFunction)(void (*)(void))cowcopy_tree_copy_py, METH_VARARGS | METH_KEYWORDS,
     tree_copy_doc},
    {"shared_bytes", (PyCFunction)(void (*)(void))cowcopy_shared_bytes,
     METH_VARARGS | METH_KEYWORDS, shared_bytes_doc},
    {"usage", (PyCFunction)(void (*)(void))cowcopy_usage_py, METH_VARARGS | METH_KEYWORDS,
     usage_doc},
    {"probe", cowcopy_probe_py, METH_O, probe_doc},
    {"dedupe", (PyCFunction)(void (*)(void))cowcopy_dedupe_py, METH_VARARGS | METH_KEYWORDS,
     dedupe_doc},
    {NULL, NULL, 0, NULL},
};

/* Py_mod_exec: fill the module with its constants and look up shutil's
 * exception. @return 0 or -1 with an exception set. */
static int cowcopy_exec(PyObject *module)
{
    module_state *st = get_state(module);
    PyObject *shutil = PyImport_ImportModule("shutil");
    if (!shutil)
        return -1;
    st->same_file_error = PyObject_GetAttrString(shutil, "SameFileError");
    Py_DECREF(shutil);
    if (!st->same_file_error)
        return -1;

    static const struct {
        const char *name;
        long value;
    } constants[] = {
        {"REFLINK_AUTO", COWCOPY_REFLINK_AUTO},
        {"REFLINK_ALWAYS", COWCOPY_REFLINK_ALWAYS},
        {"REFLINK_NEVER", COWCOPY_REFLINK_NEVER},
        {"PRESERVE_MODE", COWCOPY_PRESERVE_MODE},
        {"PRESERVE_OWNERSHIP", COWCOPY_PRESERVE_OWNERSHIP},
        {"PRESERVE_TIMESTAMPS", COWCOPY_PRESERVE_TIMESTAMPS},
        {"PRESERVE_XATTR", COWCOPY_PRESERVE_XATTR},
        {"PRESERVE_ALL", COWCOPY_PRESERVE_ALL},
        {"NO_CLOBBER", COWCOPY_NO_CLOBBER},
        {"FORCE", COWCOPY_FORCE},
        {"NO_DEREFERENCE", COWCOPY_NO_DEREFERENCE},
        {"FSYNC", COWCOPY_FSYNC},
        {"XATTR_SKIP_REFUSED", COWCOPY_XATTR_SKIP_REFUSED},
        {"TREE_DEREFERENCE", COWCOPY_TREE_DEREFERENCE},
        {"TREE_FOLLOW_ROOT", COWCOPY_TREE_FOLLOW_ROOT},
        {"TREE_NO_SPECIALS", COWCOPY_TREE_NO_SPECIALS},
        {"TREE_KEEP_ROOT_ATTRS", COWCOPY_TREE_KEEP_ROOT_ATTRS},
        {"TREE_EXACT_DIR_MODE", COWCOPY_TREE_EXACT_DIR_MODE},
        {"OP_SET_MODE", COWCOPY_OP_SET_MODE},
        {"OP_SET_XATTR", COWCOPY_OP_SET_XATTR},
        {"OP_SET_TIMES", COWCOPY_OP_SET_TIMES},
        {"OP_INTO_SELF", COWCOPY_OP_INTO_SELF},
        {"OP_OPEN_DIR", COWCOPY_OP_OPEN_DIR},
        {"OP_READ_DIR", COWCOPY_OP_READ_DIR},
        {"OP_MAKE_DIR", COWCOPY_OP_MAKE_DIR},
        {"OP_READ_LINK", COWCOPY_OP_READ_LINK},
        {"OP_MAKE_LINK", COWCOPY_OP_MAKE_LINK},
        {"OP_OVERWRITE_NONDIR", COWCOPY_OP_OVERWRITE_NONDIR},
        {"OP_SPECIAL_FILE", COWCOPY_OP_SPECIAL_FILE},
        {"OP_CACHE", COWCOPY_OP_CACHE},
        {"OP_DEDUPE_FS", COWCOPY_OP_DEDUPE_FS},
        {"SHARED_EXTENTS", COWCOPY_SHARED_EXTENTS},
        {"SHARED_SAME_FILE", COWCOPY_SHARED_SAME_FILE},
        {"SHARED_OTHER_FS", COWCOPY_SHARED_OTHER_FS},
        {"SHARED_NO_MAP", COWCOPY_SHARED_NO_MAP},
        {"USAGE_ONE_FILE_SYSTEM", COWCOPY_USAGE_ONE_FILE_SYSTEM},
        {"DEDUPE_DRY_RUN", COWCOPY_DEDUPE_DRY_RUN},
        {"DEDUPE_ONE_FILE_SYSTEM", COWCOPY_DEDUPE_ONE_FILE_SYSTEM},
        {"DEDUPE_SOURCE", COWCOPY_DEDUPE_SOURCE},
        {"DEDUPE_SHARED", COWCOPY_DEDUPE_SHARED},
        {"DEDUPE_WOULD_SHARE", COWCOPY_DEDUPE_WOULD_SHARE},
        {"DEDUPE_ALREADY", COWCOPY_DEDUPE_ALREADY},
        {"DEDUPE_DIFFERED", COWCOPY_DEDUPE_DIFFERED},
        {"DEDUPE_FAILED", COWCOPY_DEDUPE_FAILED},
    };
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        if (PyModule_AddIntConstant(module, constants[i].name, constants[i].value) < 0)
            return -1;
    if (PyModule_AddStringConstant(module, "LIBRARY_VERSION", cowcopy_version()) < 0)
        return -1;
#ifdef COWCOPY_TESTING
    PyObject *testing = Py_True;
#else
    PyObject *testing = Py_False;
#endif
    /* True when built with COWCOPY_TESTING: the library then honours the
     * COWCOPY_FAULTS environment variable. Release builds never do. */
    Py_INCREF(testing);
    if (PyModule_AddObject(module, "TESTING", testing) < 0) {
        Py_DECREF(testing);
        return -1;
    }
    return 0;
}

static int cowcopy_traverse(PyObject *module, visitproc visit, void *arg)
{
    Py_VISIT(get_state(module)->same_file_error);
    return 0;
}

static int cowcopy_clear(PyObject *module)
{
    Py_CLEAR(get_state(module)->same_file_error);
    return 0;
}

static void cowcopy_free(void *module)
{
    cowcopy_clear((PyObject *)module);
}

static PyModuleDef_Slot cowcopy_slots[] = {
    {Py_mod_exec, (void *)cowcopy_exec},
    {0, NULL},
};

PyDoc_STRVAR(module_doc,
"Low-level binding of libcowcopy; use the cowcopy package instead.");

static struct PyModuleDef cowcopy_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cowcopy._cowcopy",
    .m_doc = module_doc,
    .m_size = sizeof(module_state),
    .m_methods = cowcopy_methods,
    .m_slots = cowcopy_slots,
    .m_traverse = cowcopy_traverse,
    .m_clear = cowcopy_clear,
    .m_free = cowcopy_free,
};

PyMODINIT_FUNC PyInit__cowcopy(void)
{
    return PyModuleDef_Init(&cowcopy_module);
}

/*
 * _cowcopy.c - the C extension behind the cowcopy Python package.
 *
 * A thin, faithful binding of libcowcopy's one-file copy, cowcopy_file_copy(),
 * and of its tree copier, cowcopy_tree_copy(). cowcopy/__init__.py builds
 * shutil's semantics on top of them. This file sees
 * only the public header, cowcopy.h, as any other program would; setup.py
 * compiles the library's own sources (every .c file in ../src) into the
 * same shared object, so no installed libcowcopy is needed.
 *
 * Conventions are CPython's posixmodule.c ones:
 *  - paths are str, bytes or os.PathLike (PyOS_FSPath, PyUnicode_FSConverter;
 *    an embedded NUL is a ValueError);
 *  - failures raise the OSError subclass for the errno (FileNotFoundError,
 *    PermissionError, ...) with filename and filename2 set to the source and
 *    destination (PyErr_SetFromErrnoWithFilenameObjects); on Python 3.11+ a
 *    note says which step failed ("cannot clone 'a' to 'b' (FICLONE on
 *    ext4)"); copying a file onto itself raises shutil.SameFileError;
 *  - the GIL is released around every call into the library, which is
 *    thread-safe, so copies from many Python threads run in parallel. The
 *    tree copier's callbacks run in its worker threads without the GIL and
 *    only record failures in raw memory. Called from the main thread, the
 *    tree copy runs in a thread of its own while the main thread waits and
 *    runs Python's signal handlers, so that Ctrl-C stops it.
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

/* Attach a PEP 678 note naming the failed step to the pending exception
 * (Python 3.11+; earlier versions do not show notes). Never fails: a note
 * that cannot be made is left out. */
static void add_step_note(const cowcopy_result *res, PyObject *src, PyObject *dst)
{
#if PY_VERSION_HEX >= 0x030B0000
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc = PyErr_GetRaisedException();
#else
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
#endif
    PyObject *text = format_template(cowcopy_op_template(res->error.op), src, dst);
    PyObject *note = NULL;
    if (text && res->error.call && res->error.fs)
        note = PyUnicode_FromFormat("%U (%s on %s)", text, res->error.call, res->error.fs);
    else if (text && res->error.call)
        note = PyUnicode_FromFormat("%U (%s)", text, res->error.call);
    else if (text)
        note = Py_NewRef(text);
    PyObject *added = note ? PyObject_CallMethod(exc, "add_note", "O", note) : NULL;
    if (!added)
        PyErr_Clear();
    Py_XDECREF(added);
    Py_XDECREF(note);
    Py_XDECREF(text);
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    PyErr_Restore(type, exc, tb);
#endif
#else
    (void)res;
    (void)src;
    (void)dst;
#endif
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
    errno = -code;
    PyErr_SetFromErrnoWithFilenameObjects(PyExc_OSError, src, dst);
    add_step_note(res, src, dst);
    return NULL;
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

/* ------------------------------------------------------------ trees */

/* One failure reported by the tree copier, kept without the GIL. */
typedef struct {
    int code;         /* negative errno */
    int op;           /* enum cowcopy_op */
    const char *call; /* static in the library, or NULL */
    char *src, *dst;  /* PyMem_Raw copies, or NULL */
} tree_failure;

/* A tree_copy() call: the copy's arguments and results, and what it shares
 * with its callbacks and, from the main thread, with the copying thread. */
typedef struct {
    const char *src, *dst;
    cowcopy_tree_options opts;
    cowcopy_tree_stats stats;
    int result;               /* cowcopy_tree_copy()'s */
    tree_failure *failures;
    size_t count, cap;
    int out_of_memory;
    int stop;                 /* set by the waiting thread, read by the progress
                                 callback (__atomic builtins) */
    PyThread_type_lock done;  /* held until the copying thread is done */
    int interrupted;          /* a signal handler raised: the exception below */
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc;
#else
    PyObject *exc_type, *exc_value, *exc_tb;
#endif
} tree_call;

/* strdup with PyMem_RawMalloc (callable without the GIL). NULL stays NULL. */
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

/* on_error: keep a copy of the failure. Runs in a worker thread, without
 * the GIL (the library serialises callbacks). Stops the copy only when
 * memory runs out. */
static int tree_on_error(void *data, const cowcopy_error *e)
{
    tree_call *c = data;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        tree_failure *grown = PyMem_RawRealloc(c->failures, cap * sizeof *grown);
        if (!grown) {
            c->out_of_memory = 1;
            return 1;
        }
        c->failures = grown;
        c->cap = cap;
    }
    tree_failure *f = &c->failures[c->count++];
    f->code = e->code;
    f->op = e->op;
    f->call = e->call;
    f->src = raw_strdup(e->src, &c->out_of_memory);
    f->dst = raw_strdup(e->dst, &c->out_of_memory);
    return c->out_of_memory;
}

/* progress: stop the copy once the waiting thread asked for it (a signal
 * handler raised). Runs in a worker thread, without the GIL. */
static int tree_on_progress(void *data, const cowcopy_tree_stats *stats)
{
    (void)stats;
    const tree_call *c = data;
    return __atomic_load_n(&c->stop, __ATOMIC_RELAXED);
}

/* The copying thread's body (no Python state: the library only). */
static void tree_thread(void *data)
{
    tree_call *c = data;
    c->result = cowcopy_tree_copy(c->src, c->dst, &c->opts, &c->stats);
    PyThread_release_lock(c->done);
}

/* Run the copy in a thread of its own while this (the main) thread waits
 * with the GIL released and runs Python's signal handlers whenever a signal
 * interrupts the wait, or every 20 ms (a signal may land in another thread).
 * When a handler raises, its exception is kept and the copy is asked to stop
 * (the progress callback); the wait goes on until the copying thread is done.
 * @return 0, or -1 with an exception set when no thread could be started. */
static int copy_in_thread(tree_call *c)
{
    c->done = PyThread_allocate_lock();
    if (!c->done) {
        PyErr_NoMemory();
        return -1;
    }
    PyThread_acquire_lock(c->done, WAIT_LOCK);
    if (PyThread_start_new_thread(tree_thread, c) == PYTHREAD_INVALID_THREAD_ID) {
        PyThread_release_lock(c->done);
        PyThread_free_lock(c->done);
        PyErr_SetString(PyExc_RuntimeError, "cannot start a thread for the tree copy");
        return -1;
    }
    for (;;) {
        PyLockStatus status;
        Py_BEGIN_ALLOW_THREADS
        status = PyThread_acquire_lock_timed(c->done, 20000, 1);
        Py_END_ALLOW_THREADS
        if (status == PY_LOCK_ACQUIRED)
            break;
        if (!c->interrupted && PyErr_CheckSignals() < 0) {
            c->interrupted = 1;
#if PY_VERSION_HEX >= 0x030C0000
            c->exc = PyErr_GetRaisedException();
#else
            PyErr_Fetch(&c->exc_type, &c->exc_value, &c->exc_tb);
#endif
            __atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
        }
    }
    PyThread_release_lock(c->done);
    PyThread_free_lock(c->done);
    return 0;
}

/* A path reported by the library, as the type the caller used: bytes for
 * bytes, else str (file-system encoding, surrogateescape). */
static PyObject *path_result(const char *path, PyObject *like)
{
    if (!path)
        Py_RETURN_NONE;
    if (PyBytes_Check(like))
        return PyBytes_FromString(path);
    return PyUnicode_DecodeFSDefault(path);
}

/* (errno, op, call, src, dst) tuples of the failures. */
static PyObject *failures_list(const tree_call *c, PyObject *src, PyObject *dst)
{
    PyObject *list = PyList_New((Py_ssize_t)c->count);
    for (size_t i = 0; list && i < c->count; i++) {
        const tree_failure *f = &c->failures[i];
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
"choose for the destination's filesystem. The GIL is released while the\n"
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
    call.opts.on_error = tree_on_error;
    call.opts.error_data = &call;
    if (check_signals) {
        call.opts.progress = tree_on_progress;
        call.opts.progress_data = &call;
        call.opts.progress_ms = 10;
        if (copy_in_thread(&call) < 0)
            goto out;
    } else {
        Py_BEGIN_ALLOW_THREADS
        call.result = cowcopy_tree_copy(call.src, call.dst, &call.opts, &call.stats);
        Py_END_ALLOW_THREADS
    }
    int r = call.result;

    if (call.interrupted) {
#if PY_VERSION_HEX >= 0x030C0000
        PyErr_SetRaisedException(call.exc);
#else
        PyErr_Restore(call.exc_type, call.exc_value, call.exc_tb);
#endif
        goto out;
    }
    if (call.out_of_memory) {
        PyErr_NoMemory();
        goto out;
    }
    if (r < 0 && call.count == 0) {
        errno = -r;
        PyErr_SetFromErrnoWithFilenameObjects(PyExc_OSError, src.name, dst.name);
        goto out;
    }
    PyObject *failures = failures_list(&call, src.name, dst.name);
    PyObject *counters = failures ? stats_dict(&call.stats) : NULL;
    if (failures && counters)
        ret = PyTuple_Pack(2, failures, counters);
    Py_XDECREF(failures);
    Py_XDECREF(counters);
out:
    for (size_t i = 0; i < call.count; i++) {
        PyMem_RawFree(call.failures[i].src);
        PyMem_RawFree(call.failures[i].dst);
    }
    PyMem_RawFree(call.failures);
    path_arg_clear(&src);
    path_arg_clear(&dst);
    return ret;
}

static PyMethodDef cowcopy_methods[] = {
    {"copy_file", (PyCFunction)(void (*)(void))cowcopy_copy_file, METH_VARARGS | METH_KEYWORDS,
     copy_file_doc},
    {"tree_copy", (PyCFunction)(void (*)(void))cowcopy_tree_copy_py, METH_VARARGS | METH_KEYWORDS,
     tree_copy_doc},
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

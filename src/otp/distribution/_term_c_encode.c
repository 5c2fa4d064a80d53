/* The compiled encoder: encode(term) (see _term_c.c for the rules).
 *
 * e_term dispatches on the exact type, as the pure encoder's table does,
 * and writes into a growing buffer; values of any other type are written by
 * the pure _encode(value, out) into a scratch bytearray and copied. Every
 * function returns 0, or -1 to hand the whole encode over to the pure code
 * (on an exception, on a value beyond the format's limits, past MAX_DEPTH).
 */
#include "_term_c.h"

#include <math.h>
#include <string.h>

typedef struct {
    char *p;
    Py_ssize_t len, cap;
    PyObject *scratch; /* a bytearray for the pure encoder, made on first use */
    char small[512];
} Buf;

static int
grow(Buf *b, Py_ssize_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap * 2;
    while (cap < b->len + more)
        cap *= 2;
    char *p = b->p == b->small ? PyMem_Malloc(cap) : PyMem_Realloc(b->p, cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (b->p == b->small)
        memcpy(p, b->small, b->len);
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline void put8(Buf *b, unsigned v) { b->p[b->len++] = (char)v; }
static inline void put16(Buf *b, unsigned v) {
    b->p[b->len++] = (char)(v >> 8);
    b->p[b->len++] = (char)v;
}
static inline void put32(Buf *b, uint32_t v) {
    b->p[b->len++] = (char)(v >> 24);
    b->p[b->len++] = (char)(v >> 16);
    b->p[b->len++] = (char)(v >> 8);
    b->p[b->len++] = (char)v;
}

static int e_term(Buf *b, PyObject *term, int depth);

/* The pure encoder writes this value; its bytes are appended. */
static int
e_python(Buf *b, PyObject *term)
{
    if (b->scratch == NULL) {
        b->scratch = PyByteArray_FromStringAndSize(NULL, 0);
        if (b->scratch == NULL)
            return -1;
    } else if (PyByteArray_Resize(b->scratch, 0) < 0) {
        return -1;
    }
    PyObject *args[2] = {term, b->scratch};
    PyObject *none = PyObject_Vectorcall(py_encode_into, args, 2, NULL);
    if (none == NULL)
        return -1;
    Py_DECREF(none);
    Py_ssize_t n = PyByteArray_GET_SIZE(b->scratch);
    if (grow(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, PyByteArray_AS_STRING(b->scratch), n);
    b->len += n;
    return 0;
}

/* The UTF-8 bytes of a str: borrowed from an ASCII str, else a new bytes in *owner. */
static const char *
utf8_of(PyObject *text, Py_ssize_t *size, PyObject **owner)
{
    *owner = NULL;
    if (PyUnicode_IS_ASCII(text)) {
        *size = PyUnicode_GET_LENGTH(text);
        return (const char *)PyUnicode_DATA(text);
    }
    *owner = PyUnicode_AsUTF8String(text);
    if (*owner == NULL)
        return NULL;
    *size = PyBytes_GET_SIZE(*owner);
    return PyBytes_AS_STRING(*owner);
}

/* _e_atom_text: SMALL_ATOM_UTF8, or ATOM_UTF8 for 256+ bytes of at most 255 characters. */
static int
e_atom_text(Buf *b, PyObject *text)
{
    if (!PyUnicode_Check(text))
        return -1;
    PyObject *owner;
    Py_ssize_t n;
    const char *raw = utf8_of(text, &n, &owner);
    if (raw == NULL)
        return -1;
    int rc = -1;
    if (n < 256) {
        if (grow(b, 2 + n) == 0) {
            put8(b, 119);
            put8(b, (unsigned)n);
            rc = 0;
        }
    } else if (PyUnicode_GET_LENGTH(text) <= 255) {
        if (grow(b, 3 + n) == 0) {
            put8(b, 118);
            put16(b, (unsigned)n);
            rc = 0;
        }
    }
    if (rc == 0) {
        memcpy(b->p + b->len, raw, n);
        b->len += n;
    }
    Py_XDECREF(owner);
    return rc;
}

static int
e_int(Buf *b, PyObject *term)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(term, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    unsigned long long magnitude;
    int negative = 0;
    if (overflow == 0) {
        if (grow(b, 11) < 0)
            return -1;
        if (0 <= v && v < 256) {
            put8(b, 97);
            put8(b, (unsigned)v);
            return 0;
        }
        if (-0x80000000LL <= v && v <= 0x7FFFFFFFLL) {
            put8(b, 98);
            put32(b, (uint32_t)(int32_t)v);
            return 0;
        }
        negative = v < 0;
        magnitude = negative ? (unsigned long long)(-(v + 1)) + 1 : (unsigned long long)v;
    } else if (overflow > 0) {
        magnitude = PyLong_AsUnsignedLongLong(term);
        if (magnitude == (unsigned long long)-1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError))
                return -1;
            PyErr_Clear();
            return e_python(b, term);
        }
    } else {
        return e_python(b, term);
    }
    unsigned n = 0;
    for (unsigned long long m = magnitude; m; m >>= 8)
        n++;
    if (grow(b, 3 + n) < 0)
        return -1;
    put8(b, 110); /* SMALL_BIG: n, sign, little-endian digits */
    put8(b, n);
    put8(b, negative);
    for (unsigned i = 0; i < n; i++, magnitude >>= 8)
        put8(b, (unsigned)(magnitude & 0xff));
    return 0;
}

static int
e_binary(Buf *b, const char *raw, Py_ssize_t n)
{
    if ((unsigned long long)n > 0xFFFFFFFFULL)
        return -1;
    if (grow(b, 5 + n) < 0)
        return -1;
    put8(b, 109);
    put32(b, (uint32_t)n);
    memcpy(b->p + b->len, raw, n);
    b->len += n;
    return 0;
}

static int
e_str(Buf *b, PyObject *term)
{
    PyObject *owner;
    Py_ssize_t n;
    const char *raw = utf8_of(term, &n, &owner);
    if (raw == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
            return -1;
        PyErr_Clear(); /* lone surrogates: no UTF-8 form, the reference pickles it */
        return e_python(b, term);
    }
    int rc = e_binary(b, raw, n);
    Py_XDECREF(owner);
    return rc;
}

/* A list (or FrozenList): STRING_EXT when every element is an exact int 0..255. */
static int
e_list(Buf *b, PyObject *term, int depth)
{
    Py_ssize_t n = PySequence_Fast_GET_SIZE(term);
    if (n == 0) {
        if (grow(b, 1) < 0)
            return -1;
        put8(b, 106);
        return 0;
    }
    PyObject **items = PySequence_Fast_ITEMS(term);
    if (n <= 0xFFFF) {
        Py_ssize_t i = 0;
        for (; i < n; i++) {
            PyObject *x = items[i];
            if (!PyLong_CheckExact(x))
                break;
            int overflow;
            long v = PyLong_AsLongAndOverflow(x, &overflow);
            if (overflow || v < 0 || v > 255)
                break;
        }
        if (i == n) {
            if (grow(b, 3 + n) < 0)
                return -1;
            put8(b, 107);
            put16(b, (unsigned)n);
            for (i = 0; i < n; i++)
                put8(b, (unsigned)PyLong_AsLong(items[i]));
            return 0;
        }
    }
    if ((unsigned long long)n > 0xFFFFFFFFULL || grow(b, 5) < 0)
        return -1;
    put8(b, 108);
    put32(b, (uint32_t)n);
    /* Re-read the size and hold each item: encoding one may run Python code. */
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(term); i++) {
        PyObject *item = Py_NewRef(PySequence_Fast_ITEMS(term)[i]);
        int rc = e_term(b, item, depth + 1);
        Py_DECREF(item);
        if (rc < 0)
            return -1;
    }
    if (grow(b, 1) < 0)
        return -1;
    put8(b, 106);
    return 0;
}

static int
e_tuple(Buf *b, PyObject *term, int depth)
{
    Py_ssize_t n = PyTuple_GET_SIZE(term);
    if ((unsigned long long)n > 0xFFFFFFFFULL || grow(b, 5) < 0)
        return -1;
    if (n < 256) {
        put8(b, 104);
        put8(b, (unsigned)n);
    } else {
        put8(b, 105);
        put32(b, (uint32_t)n);
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (e_term(b, PyTuple_GET_ITEM(term, i), depth + 1) < 0)
            return -1;
    return 0;
}

static int
e_map(Buf *b, PyObject *term, int depth)
{
    Py_ssize_t n = PyDict_GET_SIZE(term);
    if ((unsigned long long)n > 0xFFFFFFFFULL || grow(b, 5) < 0)
        return -1;
    put8(b, 116);
    put32(b, (uint32_t)n);
    Py_ssize_t at = 0;
    PyObject *key, *value;
    while (PyDict_Next(term, &at, &key, &value)) {
        Py_INCREF(key);
        Py_INCREF(value);
        int rc = e_term(b, key, depth + 1);
        if (rc == 0)
            rc = e_term(b, value, depth + 1);
        Py_DECREF(key);
        Py_DECREF(value);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int
e_improper_list(Buf *b, PyObject *term, int depth)
{
    PyObject *items = PyObject_GetAttr(term, s_items);
    if (items == NULL)
        return -1;
    PyObject *tail = NULL;
    int rc = -1;
    if (!PyTuple_CheckExact(items)) { /* someone set .items: the reference decides */
        rc = e_python(b, term);
        goto done;
    }
    tail = PyObject_GetAttr(term, s_tail);
    Py_ssize_t n = PyTuple_GET_SIZE(items);
    if (tail == NULL || (unsigned long long)n > 0xFFFFFFFFULL || grow(b, 5) < 0)
        goto done;
    put8(b, 108);
    put32(b, (uint32_t)n);
    for (Py_ssize_t i = 0; i < n; i++)
        if (e_term(b, PyTuple_GET_ITEM(items, i), depth + 1) < 0)
            goto done;
    rc = e_term(b, tail, depth + 1);
done:
    Py_DECREF(items);
    Py_XDECREF(tail);
    return rc;
}

/* An exact int of 0..2**32-1 from an attribute; -1 when it is anything else. */
static long long
u32_attr(PyObject *obj, PyObject *name)
{
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL)
        return -1;
    long long v = -1;
    if (PyLong_CheckExact(value)) {
        int overflow;
        v = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow || v < 0 || v > 0xFFFFFFFFLL)
            v = -1;
    }
    Py_DECREF(value);
    return v;
}

static int
e_node_name(Buf *b, PyObject *term)
{
    PyObject *node = PyObject_GetAttr(term, s_node_name);
    if (node == NULL)
        return -1;
    int rc = e_atom_text(b, node);
    Py_DECREF(node);
    return rc;
}

static int
e_pid(Buf *b, PyObject *term)
{
    if (grow(b, 1) < 0)
        return -1;
    put8(b, 88);
    if (e_node_name(b, term) < 0)
        return -1;
    long long id = u32_attr(term, s_id);
    long long serial = id < 0 ? -1 : u32_attr(term, s_serial);
    long long creation = serial < 0 ? -1 : u32_attr(term, s_creation);
    if (creation < 0 || grow(b, 12) < 0)
        return -1;
    put32(b, (uint32_t)id);
    put32(b, (uint32_t)serial);
    put32(b, (uint32_t)creation);
    return 0;
}

static int
e_ref(Buf *b, PyObject *term)
{
    PyObject *ids = PyObject_GetAttr(term, s_ids);
    if (ids == NULL)
        return -1;
    int rc = -1;
    Py_ssize_t n = PyTuple_CheckExact(ids) ? PyTuple_GET_SIZE(ids) : 0;
    if (n < 1 || n > MAX_REF_WORDS || grow(b, 3) < 0)
        goto done;
    put8(b, 90);
    put16(b, (unsigned)n);
    if (e_node_name(b, term) < 0)
        goto done;
    long long creation = u32_attr(term, s_creation);
    if (creation < 0 || grow(b, 4 + 4 * n) < 0)
        goto done;
    put32(b, (uint32_t)creation);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *word = PyTuple_GET_ITEM(ids, i);
        if (!PyLong_CheckExact(word))
            goto done;
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(word, &overflow);
        if (overflow || v < 0 || v > 0xFFFFFFFFLL)
            goto done;
        put32(b, (uint32_t)v);
    }
    rc = 0;
done:
    Py_DECREF(ids);
    return rc;
}

static int
e_term(Buf *b, PyObject *term, int depth)
{
    if (depth > MAX_DEPTH)
        return -1;
    PyTypeObject *type = Py_TYPE(term);
    if (type == &PyLong_Type)
        return e_int(b, term);
    if (type == (PyTypeObject *)AtomType)
        return e_atom_text(b, term);
    if (type == &PyTuple_Type)
        return e_tuple(b, term, depth);
    if (type == &PyUnicode_Type)
        return e_str(b, term);
    if (type == &PyFloat_Type) {
        double x = PyFloat_AS_DOUBLE(term);
        if (!isfinite(x))
            return e_python(b, term); /* Erlang floats are finite: the reference pickles */
        if (grow(b, 9) < 0)
            return -1;
        put8(b, 70);
        if (PyFloat_Pack8(x, b->p + b->len, 0) < 0)
            return -1;
        b->len += 8;
        return 0;
    }
    if (type == &PyList_Type || type == (PyTypeObject *)FrozenListType)
        return e_list(b, term, depth);
    if (type == &PyDict_Type)
        return e_map(b, term, depth);
    if (type == &PyBytes_Type)
        return e_binary(b, PyBytes_AS_STRING(term), PyBytes_GET_SIZE(term));
    if (term == Py_None || type == &PyBool_Type) {
        const char *text = term == Py_None ? "nil" : term == Py_True ? "true" : "false";
        size_t n = strlen(text);
        if (grow(b, 2 + n) < 0)
            return -1;
        put8(b, 119);
        put8(b, (unsigned)n);
        memcpy(b->p + b->len, text, n);
        b->len += n;
        return 0;
    }
    if (type == (PyTypeObject *)ImproperListType)
        return e_improper_list(b, term, depth);
    if (type == (PyTypeObject *)RefType)
        return e_ref(b, term);
    if (PyObject_TypeCheck(term, (PyTypeObject *)PidType)) /* a local process is a Pid */
        return e_pid(b, term);
    return e_python(b, term);
}

/* encode(term) -> bytes, compiled; any failure is re-done by the reference. */
PyObject *
term_c_encode(PyObject *module, PyObject *term)
{
    if (!term_c_ready) {
        PyErr_SetString(PyExc_RuntimeError, "otp.distribution._term_c is not set up: call _setup() first");
        return NULL;
    }
    Buf b = {.len = 0, .cap = sizeof(b.small), .scratch = NULL};
    b.p = b.small;
    put8(&b, 131);
    int rc = e_term(&b, term, 0);
    PyObject *result = rc < 0 ? NULL : PyBytes_FromStringAndSize(b.p, b.len);
    if (b.p != b.small)
        PyMem_Free(b.p);
    Py_XDECREF(b.scratch);
    if (result != NULL)
        return result;
    if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_Exception))
        return NULL;
    PyErr_Clear();
    return PyObject_CallOneArg(py_encode, term);
}


/* The compiled fast path of the external term format codec.
 *
 * The pure-Python codec (_term_decode.py, _term_encode.py) is the reference:
 * this module gives the same results for the terms that are common on the
 * wire and hands everything else back to it.
 *
 * How it stays identical to the reference:
 *
 * - Decoding: the common tags (integers, small bigs, new floats, atoms,
 *   tuples, lists, binaries, maps, NEW_PID, NEWER_REFERENCE) are decoded here;
 *   a sub-term with any other tag is decoded by calling the pure decoder's
 *   function for that tag at that offset, exactly as the pure containers do.
 *   Values are built through the objects the pure code uses (Atom,
 *   ImproperList, freeze, _new_ref, the Decoder's pids hook and interning
 *   dict, the shared atom memo), which _setup() receives from Python.
 * - Errors: on malformed input, on any exception, or on nesting deeper than
 *   MAX_DEPTH, the whole decode (or encode) is run again by the pure code, so
 *   the error raised (type, message, offset), and the behaviour on very deep
 *   terms, are the reference's. The C code never raises DecodeError itself.
 * - Encoding: exact types only, as the pure encoder's dispatch table; any
 *   other value (ports, funs, subclasses to pickle, huge integers...) is
 *   encoded by the pure `_encode(value, out)` and its bytes appended.
 *
 * Recursion is bounded by MAX_DEPTH, so the C stack never overflows.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 200
#define MAX_REF_WORDS 5

/* --- what _setup() receives ------------------------------------------------ */

static PyObject *AtomType;         /* otp._runtime._terms.Atom */
static PyObject *ImproperListType; /* ImproperList */
static PyObject *FrozenListType;   /* FrozenList */
static PyObject *PidType;          /* otp._runtime._ids.Pid */
static PyObject *RefType;          /* Ref */
static PyObject *atom_memo;        /* _term_decode._ATOMS */
static Py_ssize_t atom_memo_limit; /* _term_decode._ATOMS_LIMIT */
static PyObject *freeze_fn;        /* _terms.freeze */
static PyObject *new_ref_fn;       /* _ids._new_ref */
static PyObject *new_remote_pid_fn;/* _ids._new_remote_pid */
static PyObject *py_decoders;      /* _term_decode._DECODERS: 256 functions */
static PyObject *py_decode_from;   /* the pure Decoder.decode_from */
static PyObject *py_intern_pid;    /* the pure Decoder._intern_pid */
static PyObject *py_encode;        /* the pure encode */
static PyObject *py_encode_into;   /* the pure _encode(term, out) */
static int ready = 0;

/* Interned attribute names and constants. */
static PyObject *s_data, *s_pids, *s_allow_pickle, *s_interned, *s_unpickle;
static PyObject *s_items, *s_tail, *s_node_name, *s_id, *s_serial, *s_creation, *s_ids;
static PyObject *s_version_byte;
static PyObject *str_true, *str_false, *str_nil; /* plain str, as _atom_text gives */

/* --- decoding ---------------------------------------------------------------- */

typedef struct {
    PyObject *self;         /* the Decoder */
    PyObject *data;         /* the bytes being read */
    const unsigned char *p;
    Py_ssize_t n;
    PyObject *saved_data;   /* self._data before we set it (once data_set) */
    int data_set;
    PyObject *pids;         /* self.pids, read at the first pid */
    int pids_default;       /* 1: self.pids is self._intern_pid */
    PyObject *interned;     /* self._interned, when pids_default */
} Dec;

static PyObject *d_term(Dec *s, Py_ssize_t *pos, int depth);

static inline uint16_t be16(const unsigned char *q) { return (uint16_t)((q[0] << 8) | q[1]); }
static inline uint32_t be32(const unsigned char *q) {
    return ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3];
}

/* Make self._data the input, as the pure decoder functions read it. */
static int
ensure_data(Dec *s)
{
    if (s->data_set)
        return 0;
    s->saved_data = PyObject_GetAttr(s->self, s_data);
    if (s->saved_data == NULL)
        return -1;
    if (PyObject_SetAttr(s->self, s_data, s->data) < 0) {
        Py_CLEAR(s->saved_data);
        return -1;
    }
    s->data_set = 1;
    return 0;
}

/* The term at *pos decoded by the pure decoder (the tag's own function). */
static PyObject *
d_python(Dec *s, Py_ssize_t *pos)
{
    if (ensure_data(s) < 0)
        return NULL;
    PyObject *fn = PyList_GetItem(py_decoders, s->p[*pos]);
    if (fn == NULL)
        return NULL;
    PyObject *args[2] = {s->self, NULL};
    args[1] = PyLong_FromSsize_t(*pos + 1);
    if (args[1] == NULL)
        return NULL;
    PyObject *result = PyObject_Vectorcall(fn, args, 2, NULL);
    Py_DECREF(args[1]);
    if (result == NULL)
        return NULL;
    if (!PyTuple_CheckExact(result) || PyTuple_GET_SIZE(result) != 2) {
        Py_DECREF(result);
        return NULL;
    }
    Py_ssize_t end = PyLong_AsSsize_t(PyTuple_GET_ITEM(result, 1));
    if (end == -1 && PyErr_Occurred()) {
        Py_DECREF(result);
        return NULL;
    }
    PyObject *value = PyTuple_GET_ITEM(result, 0);
    Py_INCREF(value);
    Py_DECREF(result);
    *pos = end;
    return value;
}

/* An atom's value from its bytes, through the shared memo (as _atom does). */
static PyObject *
d_atom(Dec *s, Py_ssize_t start, Py_ssize_t len, int utf8)
{
    if (start + len > s->n)
        return NULL;
    const char *raw = (const char *)s->p + start;
    PyObject *key;
    if (utf8) {
        key = PyBytes_FromStringAndSize(raw, len);
    } else {
        key = PyBytes_FromStringAndSize(NULL, len + 1);
        if (key != NULL) {
            PyBytes_AS_STRING(key)[0] = (char)0xff;
            memcpy(PyBytes_AS_STRING(key) + 1, raw, len);
        }
    }
    if (key == NULL)
        return NULL;
    PyObject *value = PyDict_GetItemWithError(atom_memo, key);
    if (value != NULL) {
        Py_INCREF(value);
        Py_DECREF(key);
        return value;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    PyObject *text = utf8 ? PyUnicode_DecodeUTF8(raw, len, NULL)
                          : PyUnicode_DecodeLatin1(raw, len, NULL);
    if (text == NULL) {
        Py_DECREF(key);
        return NULL;
    }
    if (PyUnicode_CompareWithASCIIString(text, "true") == 0) {
        value = Py_NewRef(Py_True);
    } else if (PyUnicode_CompareWithASCIIString(text, "false") == 0) {
        value = Py_NewRef(Py_False);
    } else if (PyUnicode_CompareWithASCIIString(text, "nil") == 0) {
        value = Py_NewRef(Py_None);
    } else {
        value = PyObject_CallOneArg(AtomType, text);
    }
    Py_DECREF(text);
    if (value == NULL) {
        Py_DECREF(key);
        return NULL;
    }
    if (PyDict_GET_SIZE(atom_memo) >= atom_memo_limit)
        PyDict_Clear(atom_memo);
    int rc = PyDict_SetItem(atom_memo, key, value);
    Py_DECREF(key);
    if (rc < 0) {
        Py_DECREF(value);
        return NULL;
    }
    return value;
}

/* An atom tag at *pos: its value, or NULL (with *pos unchanged) on a short input. */
static PyObject *
d_atom_at(Dec *s, Py_ssize_t *pos)
{
    Py_ssize_t at = *pos, start, len;
    int utf8;
    switch (s->p[at]) {
    case 119: /* SMALL_ATOM_UTF8 */
    case 115: /* SMALL_ATOM */
        if (at + 2 > s->n)
            return NULL;
        len = s->p[at + 1];
        start = at + 2;
        utf8 = s->p[at] == 119;
        break;
    case 118: /* ATOM_UTF8 */
    case 100: /* ATOM */
        if (at + 3 > s->n)
            return NULL;
        len = be16(s->p + at + 1);
        start = at + 3;
        utf8 = s->p[at] == 118;
        break;
    default:
        return NULL;
    }
    PyObject *value = d_atom(s, start, len, utf8);
    if (value != NULL)
        *pos = start + len;
    return value;
}

static int
is_atom_tag(unsigned char tag)
{
    return tag == 119 || tag == 118 || tag == 100 || tag == 115;
}

/* An atom that must stay text (a node name), as _atom_text reads it. */
static PyObject *
d_atom_text(Dec *s, Py_ssize_t *pos)
{
    PyObject *value = d_atom_at(s, pos);
    if (value == NULL || PyUnicode_Check(value))
        return value;
    PyObject *text = value == Py_None ? str_nil : value == Py_True ? str_true : str_false;
    Py_DECREF(value);
    return Py_NewRef(text);
}

/* The elements of a tuple; {'$otp_pickle', Bin} and exceptions are unpickled. */
static PyObject *
d_tuple(Dec *s, Py_ssize_t *pos, Py_ssize_t arity, int small, int depth)
{
    if (arity > s->n - *pos)
        return NULL;
    PyObject *tuple = PyTuple_New(arity);
    if (tuple == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < arity; i++) {
        PyObject *item = d_term(s, pos, depth + 1);
        if (item == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        PyTuple_SET_ITEM(tuple, i, item);
    }
    if (small && (arity == 2 || arity == 4)) {
        PyObject *first = PyTuple_GET_ITEM(tuple, 0);
        const char *tag = arity == 2 ? "$otp_pickle" : "$otp_exception";
        if (Py_IS_TYPE(first, (PyTypeObject *)AtomType)
            && PyUnicode_CompareWithASCIIString(first, tag) == 0) {
            PyObject *allow = PyObject_GetAttr(s->self, s_allow_pickle);
            if (allow == NULL) {
                Py_DECREF(tuple);
                return NULL;
            }
            int yes = PyObject_IsTrue(allow);
            Py_DECREF(allow);
            if (yes < 0) {
                Py_DECREF(tuple);
                return NULL;
            }
            if (yes) {
                PyObject *end = PyLong_FromSsize_t(*pos);
                PyObject *value = end == NULL ? NULL : PyObject_CallMethodObjArgs(
                    s->self, s_unpickle, PyTuple_GET_ITEM(tuple, arity - 1), end, NULL);
                Py_XDECREF(end);
                Py_DECREF(tuple);
                return value;
            }
        }
    }
    return tuple;
}

/* LIST_EXT: elements then a tail, as _d_list joins them. */
static PyObject *
d_list(Dec *s, Py_ssize_t *pos, Py_ssize_t count, int depth)
{
    if (count > s->n - *pos)
        return NULL;
    PyObject *items = PyList_New(count);
    if (items == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = d_term(s, pos, depth + 1);
        if (item == NULL) {
            Py_DECREF(items);
            return NULL;
        }
        PyList_SET_ITEM(items, i, item);
    }
    if (*pos >= s->n) {
        Py_DECREF(items);
        return NULL;
    }
    if (s->p[*pos] == 106) { /* NIL: a proper list */
        *pos += 1;
        return items;
    }
    PyObject *tail = d_term(s, pos, depth + 1);
    if (tail == NULL) {
        Py_DECREF(items);
        return NULL;
    }
    PyObject *result = NULL;
    if (PyList_CheckExact(tail)) { /* [1 | [2]] is [1, 2] */
        if (PyList_SetSlice(items, count, count, tail) == 0)
            result = Py_NewRef(items);
    } else if (count == 0) { /* a zero-length LIST_EXT is just its tail */
        result = Py_NewRef(tail);
    } else if (Py_IS_TYPE(tail, (PyTypeObject *)ImproperListType)) {
        PyObject *more = PyObject_GetAttr(tail, s_items);
        PyObject *last = more == NULL ? NULL : PyObject_GetAttr(tail, s_tail);
        if (last != NULL && PyList_SetSlice(items, count, count, more) == 0)
            result = PyObject_CallFunctionObjArgs(ImproperListType, items, last, NULL);
        Py_XDECREF(more);
        Py_XDECREF(last);
    } else {
        result = PyObject_CallFunctionObjArgs(ImproperListType, items, tail, NULL);
    }
    Py_DECREF(items);
    Py_DECREF(tail);
    return result;
}

static PyObject *
d_map(Dec *s, Py_ssize_t *pos, Py_ssize_t arity, int depth)
{
    if (2 * arity > s->n - *pos)
        return NULL;
    PyObject *result = PyDict_New();
    if (result == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < arity; i++) {
        PyObject *key = d_term(s, pos, depth + 1);
        if (key == NULL)
            goto fail;
        PyObject *value = d_term(s, pos, depth + 1);
        if (value == NULL) {
            Py_DECREF(key);
            goto fail;
        }
        int rc = PyDict_SetItem(result, key, value);
        if (rc < 0 && PyErr_ExceptionMatches(PyExc_TypeError)) {
            /* a list or map as a key: Erlang allows it, a dict needs hashable */
            PyErr_Clear();
            PyObject *frozen = PyObject_CallOneArg(freeze_fn, key);
            rc = frozen == NULL ? -1 : PyDict_SetItem(result, frozen, value);
            Py_XDECREF(frozen);
        }
        Py_DECREF(key);
        Py_DECREF(value);
        if (rc < 0)
            goto fail;
    }
    if (PyDict_GET_SIZE(result) != arity) /* colliding keys: the reference raises */
        goto fail;
    return result;
fail:
    Py_DECREF(result);
    return NULL;
}

static PyObject *
d_pid(Dec *s, PyObject *node, uint32_t id, uint32_t serial, uint32_t creation)
{
    if (s->pids == NULL) {
        s->pids = PyObject_GetAttr(s->self, s_pids);
        if (s->pids == NULL)
            return NULL;
        s->pids_default = PyMethod_Check(s->pids)
                          && PyMethod_GET_FUNCTION(s->pids) == py_intern_pid
                          && PyMethod_GET_SELF(s->pids) == s->self;
        if (s->pids_default) {
            s->interned = PyObject_GetAttr(s->self, s_interned);
            if (s->interned == NULL)
                return NULL;
            if (!PyDict_CheckExact(s->interned))
                s->pids_default = 0;
        }
    }
    PyObject *args[4] = {node, PyLong_FromUnsignedLong(id), PyLong_FromUnsignedLong(serial),
                         PyLong_FromUnsignedLong(creation)};
    PyObject *pid = NULL;
    if (args[1] == NULL || args[2] == NULL || args[3] == NULL)
        goto done;
    if (!s->pids_default) {
        pid = PyObject_Vectorcall(s->pids, args, 4, NULL);
        goto done;
    }
    /* Decoder._intern_pid, inline: one Pid object per key in this session. */
    PyObject *key = PyTuple_Pack(4, args[0], args[1], args[2], args[3]);
    if (key == NULL)
        goto done;
    pid = PyDict_GetItemWithError(s->interned, key);
    if (pid != NULL) {
        Py_INCREF(pid);
    } else if (!PyErr_Occurred()) {
        pid = PyObject_Vectorcall(new_remote_pid_fn, args, 4, NULL);
        if (pid != NULL && PyDict_SetItem(s->interned, key, pid) < 0)
            Py_CLEAR(pid);
    }
    Py_DECREF(key);
done:
    Py_XDECREF(args[1]);
    Py_XDECREF(args[2]);
    Py_XDECREF(args[3]);
    return pid;
}

/* NEW_PID_EXT after its tag: Node, then ID:32 Serial:32 Creation:32. */
static PyObject *
d_new_pid(Dec *s, Py_ssize_t *pos)
{
    Py_ssize_t at = *pos + 1;
    PyObject *node = d_atom_text(s, &at);
    if (node == NULL)
        return NULL;
    if (at + 12 > s->n) {
        Py_DECREF(node);
        return NULL;
    }
    const unsigned char *q = s->p + at;
    PyObject *pid = d_pid(s, node, be32(q), be32(q + 4), be32(q + 8));
    Py_DECREF(node);
    if (pid != NULL)
        *pos = at + 12;
    return pid;
}

/* NEWER_REFERENCE_EXT after its tag: Len:16, Node, Creation:32, Len words. */
static PyObject *
d_newer_reference(Dec *s, Py_ssize_t *pos)
{
    Py_ssize_t at = *pos + 1;
    if (at + 2 > s->n)
        return NULL;
    Py_ssize_t words = be16(s->p + at);
    if (words < 1 || words > MAX_REF_WORDS)
        return NULL;
    at += 2;
    PyObject *node = d_atom_text(s, &at);
    if (node == NULL)
        return NULL;
    PyObject *creation = NULL, *ids = NULL, *ref = NULL;
    if (at + 4 + 4 * words > s->n)
        goto done;
    creation = PyLong_FromUnsignedLong(be32(s->p + at));
    ids = PyTuple_New(words);
    if (creation == NULL || ids == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < words; i++) {
        PyObject *word = PyLong_FromUnsignedLong(be32(s->p + at + 4 + 4 * i));
        if (word == NULL)
            goto done;
        PyTuple_SET_ITEM(ids, i, word);
    }
    PyObject *args[3] = {node, creation, ids};
    ref = PyObject_Vectorcall(new_ref_fn, args, 3, NULL);
    if (ref != NULL)
        *pos = at + 4 + 4 * words;
done:
    Py_DECREF(node);
    Py_XDECREF(creation);
    Py_XDECREF(ids);
    return ref;
}

static PyObject *
d_binary(Dec *s, Py_ssize_t *pos)
{
    Py_ssize_t at = *pos;
    if (at + 5 > s->n)
        return NULL;
    Py_ssize_t len = be32(s->p + at + 1);
    if (len > s->n - at - 5)
        return NULL;
    const char *raw = (const char *)s->p + at + 5;
    PyObject *value = PyUnicode_DecodeUTF8(raw, len, NULL);
    if (value == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
            return NULL;
        PyErr_Clear();
        value = PyBytes_FromStringAndSize(raw, len);
        if (value == NULL)
            return NULL;
    }
    *pos = at + 5 + len;
    return value;
}

static PyObject *
d_small_big(Dec *s, Py_ssize_t *pos)
{
    Py_ssize_t at = *pos;
    if (at + 2 > s->n)
        return NULL;
    Py_ssize_t len = s->p[at + 1];
    if (len > 8)
        return d_python(s, pos);
    if (at + 3 + len > s->n)
        return NULL;
    int negative = s->p[at + 2] != 0;
    unsigned long long magnitude = 0;
    for (Py_ssize_t i = len - 1; i >= 0; i--)
        magnitude = (magnitude << 8) | s->p[at + 3 + i];
    PyObject *value;
    if (!negative) {
        value = PyLong_FromUnsignedLongLong(magnitude);
    } else if (magnitude <= (unsigned long long)LLONG_MAX) {
        value = PyLong_FromLongLong(-(long long)magnitude);
    } else {
        PyObject *positive = PyLong_FromUnsignedLongLong(magnitude);
        value = positive == NULL ? NULL : PyNumber_Negative(positive);
        Py_XDECREF(positive);
    }
    if (value != NULL)
        *pos = at + 3 + len;
    return value;
}

/* The term whose tag is at *pos; advances *pos past it. NULL: hand over. */
static PyObject *
d_term(Dec *s, Py_ssize_t *pos, int depth)
{
    Py_ssize_t at = *pos;
    if (depth > MAX_DEPTH || at >= s->n)
        return NULL;
    const unsigned char *q = s->p + at;
    Py_ssize_t left = s->n - at;
    PyObject *value;
    switch (q[0]) {
    case 97: /* SMALL_INTEGER */
        if (left < 2)
            return NULL;
        *pos = at + 2;
        return PyLong_FromLong(q[1]);
    case 98: /* INTEGER */
        if (left < 5)
            return NULL;
        *pos = at + 5;
        return PyLong_FromLong((int32_t)be32(q + 1));
    case 70: /* NEW_FLOAT */
        if (left < 9)
            return NULL;
        {
            double x = PyFloat_Unpack8((const char *)q + 1, 0);
            if (x == -1.0 && PyErr_Occurred())
                return NULL;
            *pos = at + 9;
            return PyFloat_FromDouble(x);
        }
    case 110: /* SMALL_BIG */
        return d_small_big(s, pos);
    case 119: /* SMALL_ATOM_UTF8 */
    case 118: /* ATOM_UTF8 */
    case 100: /* ATOM */
    case 115: /* SMALL_ATOM */
        return d_atom_at(s, pos);
    case 104: /* SMALL_TUPLE */
        if (left < 2)
            return NULL;
        *pos = at + 2;
        return d_tuple(s, pos, q[1], 1, depth);
    case 105: /* LARGE_TUPLE */
        if (left < 5)
            return NULL;
        *pos = at + 5;
        return d_tuple(s, pos, be32(q + 1), 0, depth);
    case 106: /* NIL */
        *pos = at + 1;
        return PyList_New(0);
    case 107: /* STRING: a list of bytes */
        if (left < 3)
            return NULL;
        {
            Py_ssize_t len = be16(q + 1);
            if (left < 3 + len)
                return NULL;
            value = PyList_New(len);
            if (value == NULL)
                return NULL;
            for (Py_ssize_t i = 0; i < len; i++)
                PyList_SET_ITEM(value, i, PyLong_FromLong(q[3 + i])); /* cached small ints */
            *pos = at + 3 + len;
            return value;
        }
    case 108: /* LIST */
        if (left < 5)
            return NULL;
        *pos = at + 5;
        return d_list(s, pos, be32(q + 1), depth);
    case 116: /* MAP */
        if (left < 5)
            return NULL;
        *pos = at + 5;
        return d_map(s, pos, be32(q + 1), depth);
    case 109: /* BINARY */
        return d_binary(s, pos);
    case 88: /* NEW_PID */
        if (left < 2 || !is_atom_tag(q[1]))
            return d_python(s, pos);
        return d_new_pid(s, pos);
    case 90: /* NEWER_REFERENCE */
        if (left < 4 || !is_atom_tag(q[3]))
            return d_python(s, pos);
        return d_newer_reference(s, pos);
    default:
        return d_python(s, pos);
    }
}

/* Decoder.decode_from(data, offset=0, *, version_byte=True), compiled.
 * Called as a method (args[0] is the Decoder). Anything unusual, and any
 * failure, goes to the pure method with the very same arguments. */
static PyObject *
decoder_decode_from(PyObject *module, PyObject *const *args, Py_ssize_t nargsf,
                    PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (!ready || nargs < 2 || nargs > 3)
        goto pure;
    int version_byte = 1;
    if (kwnames != NULL) {
        if (PyTuple_GET_SIZE(kwnames) != 1
            || PyUnicode_Compare(PyTuple_GET_ITEM(kwnames, 0), s_version_byte) != 0)
            goto pure;
        version_byte = PyObject_IsTrue(args[nargs]);
        if (version_byte < 0)
            return NULL;
    }
    Py_ssize_t offset = 0;
    if (nargs == 3) {
        if (!PyLong_CheckExact(args[2]))
            goto pure;
        offset = PyLong_AsSsize_t(args[2]);
        if (offset < 0) {
            PyErr_Clear();
            goto pure;
        }
    }
    PyObject *data = args[1];
    if (PyBytes_CheckExact(data)) {
        Py_INCREF(data);
    } else if (PyByteArray_CheckExact(data) || PyMemoryView_Check(data)) {
        data = PyObject_Bytes(data);
        if (data == NULL) {
            PyErr_Clear();
            goto pure;
        }
    } else {
        goto pure;
    }
    Dec s = {.self = args[0], .data = data, .p = (const unsigned char *)PyBytes_AS_STRING(data),
             .n = PyBytes_GET_SIZE(data)};
    Py_ssize_t pos = offset;
    PyObject *value = NULL;
    if (version_byte) {
        /* the version byte; a compressed term is left to the reference */
        if (pos + 1 < s.n && s.p[pos] == 131 && s.p[pos + 1] != 80) {
            pos += 1;
            value = d_term(&s, &pos, 0);
        }
    } else {
        value = d_term(&s, &pos, 0);
    }
    if (s.data_set) {
        /* put self._data back, keeping any error for the decision below */
        PyObject *exc_type, *exc_value, *exc_tb;
        PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
        int rc = PyObject_SetAttr(s.self, s_data, s.saved_data);
        Py_DECREF(s.saved_data);
        if (rc < 0) {
            Py_XDECREF(exc_type);
            Py_XDECREF(exc_value);
            Py_XDECREF(exc_tb);
            Py_CLEAR(value);
        } else {
            PyErr_Restore(exc_type, exc_value, exc_tb);
        }
    }
    Py_XDECREF(s.pids);
    Py_XDECREF(s.interned);
    PyObject *result = NULL;
    if (value != NULL) {
        PyObject *end = PyLong_FromSsize_t(pos);
        result = end == NULL ? NULL : PyTuple_Pack(2, value, end);
        Py_XDECREF(end);
        Py_DECREF(value);
    }
    Py_DECREF(data);
    if (result != NULL)
        return result;
    /* KeyboardInterrupt and the like pass; anything else is re-done by the reference. */
    if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_Exception))
        return NULL;
    PyErr_Clear();
pure:
    if (py_decode_from == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "otp.dist._term_c is not set up: call _setup() first");
        return NULL;
    }
    return PyObject_Vectorcall(py_decode_from, args, nargsf, kwnames);
}

/* --- encoding ---------------------------------------------------------------- */

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
static PyObject *
encode(PyObject *module, PyObject *term)
{
    if (!ready)
        return PyObject_CallOneArg(py_encode, term);
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

/* --- set-up -------------------------------------------------------------------- */

static PyObject *
setup(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"Atom", "ImproperList", "FrozenList", "Pid", "Ref", "atoms",
                            "atoms_limit", "freeze", "new_ref", "new_remote_pid", "decoders",
                            "decode_from", "intern_pid", "encode", "encode_into", NULL};
    PyObject *atom, *improper, *frozen, *pid, *ref, *memo, *freeze, *nref, *npid, *decoders;
    PyObject *decode_from, *intern, *enc, *enc_into;
    Py_ssize_t limit;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$O!O!O!O!O!O!nOOOO!OOOO:_setup", names,
                                     &PyType_Type, &atom, &PyType_Type, &improper,
                                     &PyType_Type, &frozen, &PyType_Type, &pid, &PyType_Type,
                                     &ref, &PyDict_Type, &memo, &limit, &freeze, &nref, &npid,
                                     &PyList_Type, &decoders, &decode_from, &intern, &enc,
                                     &enc_into))
        return NULL;
    if (PyList_GET_SIZE(decoders) != 256) {
        PyErr_SetString(PyExc_ValueError, "_setup: decoders must hold 256 functions");
        return NULL;
    }
#define KEEP(var, value) Py_XSETREF(var, Py_NewRef(value))
    KEEP(AtomType, atom);
    KEEP(ImproperListType, improper);
    KEEP(FrozenListType, frozen);
    KEEP(PidType, pid);
    KEEP(RefType, ref);
    KEEP(atom_memo, memo);
    KEEP(freeze_fn, freeze);
    KEEP(new_ref_fn, nref);
    KEEP(new_remote_pid_fn, npid);
    KEEP(py_decoders, decoders);
    KEEP(py_decode_from, decode_from);
    KEEP(py_intern_pid, intern);
    KEEP(py_encode, enc);
    KEEP(py_encode_into, enc_into);
#undef KEEP
    atom_memo_limit = limit;
    ready = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"_setup", (PyCFunction)(void (*)(void))setup, METH_VARARGS | METH_KEYWORDS,
     "Receive the pure codec's types and functions; call once before use."},
    {"encode", (PyCFunction)encode, METH_O, "encode(term) -> bytes, as the pure encode."},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef decode_from_def = {
    "decode_from", (PyCFunction)(void (*)(void))decoder_decode_from,
    METH_FASTCALL | METH_KEYWORDS,
    "decode_from(self, data, offset=0, *, version_byte=True), as the pure Decoder method."};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "otp.dist._term_c",
    "The compiled fast path of the external term format codec (see _term_c.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__term_c(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
#define NAME(var, text)                                  \
    if ((var = PyUnicode_InternFromString(text)) == NULL) \
        goto fail;
    NAME(s_data, "_data");
    NAME(s_pids, "pids");
    NAME(s_allow_pickle, "allow_pickle");
    NAME(s_interned, "_interned");
    NAME(s_unpickle, "_unpickle");
    NAME(s_items, "items");
    NAME(s_tail, "tail");
    NAME(s_node_name, "_node_name");
    NAME(s_id, "_id");
    NAME(s_serial, "_serial");
    NAME(s_creation, "_creation");
    NAME(s_ids, "_ids");
    NAME(s_version_byte, "version_byte");
    NAME(str_true, "true");
    NAME(str_false, "false");
    NAME(str_nil, "nil");
#undef NAME
    PyObject *fn = PyCFunction_NewEx(&decode_from_def, m, NULL);
    if (fn == NULL)
        goto fail;
    /* An instancemethod binds like a Python function: Decoder.decode_from = this. */
    PyObject *method = PyInstanceMethod_New(fn);
    Py_DECREF(fn);
    if (method == NULL || PyModule_AddObject(m, "decoder_decode_from", method) < 0) {
        Py_XDECREF(method);
        goto fail;
    }
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}

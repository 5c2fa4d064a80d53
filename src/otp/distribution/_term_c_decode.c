/* The compiled decoder: Decoder.decode_from (see _term_c.c for the rules).
 *
 * d_term reads the tag at *pos and decodes the common tags here; any other
 * tag goes to d_python, which calls the pure decoder's function for that
 * tag at that offset (with self._data set to the input, as it expects).
 * Every function returns a new reference, or NULL to hand the whole decode
 * over to the pure code: on a malformed input (with no exception set), on an
 * exception, or past MAX_DEPTH.
 */
#include "_term_c.h"

static PyObject *d_term(Dec *s, Py_ssize_t *pos, int depth);

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
        return term_c_atom_at(s, pos);
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
        return term_c_new_pid(s, pos);
    case 90: /* NEWER_REFERENCE */
        if (left < 4 || !is_atom_tag(q[3]))
            return d_python(s, pos);
        return term_c_newer_reference(s, pos);
    default:
        return d_python(s, pos);
    }
}

/* Decoder.decode_from(data, offset=0, *, version_byte=True), compiled.
 * Called as a method (args[0] is the Decoder). Anything unusual, and any
 * failure, goes to the pure method with the very same arguments. */
PyObject *
term_c_decode_from(PyObject *module, PyObject *const *args, Py_ssize_t nargsf,
                    PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (!term_c_ready || nargs < 2 || nargs > 3)
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
        PyErr_SetString(PyExc_RuntimeError, "otp.distribution._term_c is not set up: call _setup() first");
        return NULL;
    }
    return PyObject_Vectorcall(py_decode_from, args, nargsf, kwnames);
}

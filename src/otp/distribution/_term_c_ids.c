/* Atoms, pids and references for the compiled decoder (see _term_c.c).
 *
 * Atoms go through the pure decoder's memo (_ATOMS, keyed by their bytes,
 * Latin-1 ones by a 1-tuple of them), so both decoders give the same objects;
 * pids go through the Decoder's pids hook, with Decoder._intern_pid done
 * inline when it is the hook; references are built by _new_ref.
 */
#include "_term_c.h"

/* An atom's value from its bytes, through the shared memo (as _atom does). */
static PyObject *
d_atom(Dec *s, Py_ssize_t start, Py_ssize_t len, int utf8)
{
    if (start + len > s->n)
        return NULL;
    const char *raw = (const char *)s->p + start;
    PyObject *key = PyBytes_FromStringAndSize(raw, len);
    if (key != NULL && !utf8) { /* a Latin-1 atom: the 1-tuple of its bytes */
        PyObject *bytes = key;
        key = PyTuple_Pack(1, bytes);
        Py_DECREF(bytes);
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
PyObject *
term_c_atom_at(Dec *s, Py_ssize_t *pos)
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

/* An atom that must stay text (a node name), as _atom_text reads it. */
static PyObject *
d_atom_text(Dec *s, Py_ssize_t *pos)
{
    PyObject *value = term_c_atom_at(s, pos);
    if (value == NULL || PyUnicode_Check(value))
        return value;
    PyObject *text = value == Py_None ? str_nil : value == Py_True ? str_true : str_false;
    Py_DECREF(value);
    return Py_NewRef(text);
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
PyObject *
term_c_new_pid(Dec *s, Py_ssize_t *pos)
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
PyObject *
term_c_newer_reference(Dec *s, Py_ssize_t *pos)
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

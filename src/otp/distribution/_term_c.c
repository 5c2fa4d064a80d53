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
 *
 * The parts: _term_c_decode.c (Decoder.decode_from), _term_c_ids.c (atoms,
 * pids, references), _term_c_encode.c (encode), and this file: what the pure
 * codec hands over at _setup(), and the module.
 */
#include "_term_c.h"

/* --- what _setup() receives ------------------------------------------------ */

PyObject *AtomType;         /* otp._runtime._terms.Atom */
PyObject *ImproperListType; /* ImproperList */
PyObject *FrozenListType;   /* FrozenList */
PyObject *PidType;          /* otp._runtime._ids.Pid */
PyObject *RefType;          /* Ref */
PyObject *atom_memo;        /* _term_decode_scalars._ATOMS */
Py_ssize_t atom_memo_limit; /* _term_decode_scalars._ATOMS_LIMIT */
PyObject *freeze_fn;        /* _terms.freeze */
PyObject *new_ref_fn;       /* _ids._new_ref */
PyObject *new_remote_pid_fn;/* _ids._new_remote_pid */
PyObject *py_decoders;      /* _term_decode_table._DECODERS: 256 functions */
PyObject *py_decode_from;   /* the pure Decoder.decode_from */
PyObject *py_intern_pid;    /* the pure Decoder._intern_pid */
PyObject *py_encode;        /* the pure encode */
PyObject *py_encode_into;   /* the pure _encode(term, out) */
int term_c_ready = 0;

/* Interned attribute names and constants. */
PyObject *s_data, *s_pids, *s_allow_pickle, *s_interned, *s_unpickle;
PyObject *s_items, *s_tail, *s_node_name, *s_id, *s_serial, *s_creation, *s_ids;
PyObject *s_version_byte;
PyObject *str_true, *str_false, *str_nil; /* plain str, as _atom_text gives */

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
    term_c_ready = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"_setup", (PyCFunction)(void (*)(void))setup, METH_VARARGS | METH_KEYWORDS,
     "Receive the pure codec's types and functions; call once before use."},
    {"encode", (PyCFunction)term_c_encode, METH_O, "encode(term) -> bytes, as the pure encode."},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef decode_from_def = {
    "decode_from", (PyCFunction)(void (*)(void))term_c_decode_from,
    METH_FASTCALL | METH_KEYWORDS,
    "decode_from(self, data, offset=0, *, version_byte=True), as the pure Decoder method."};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "otp.distribution._term_c",
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


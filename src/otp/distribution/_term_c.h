/* Shared by the parts of the compiled term codec (see _term_c.c). */
#ifndef OTP_TERM_C_H
#define OTP_TERM_C_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* Deeper terms are decoded or encoded again by the pure codec: this bounds
 * the C stack, and keeps the pure codec's behaviour on deep terms. */
#define MAX_DEPTH 200
#define MAX_REF_WORDS 5

/* What _setup() receives from the pure codec (owned references). */
extern PyObject *AtomType;          /* otp._runtime._terms.Atom */
extern PyObject *ImproperListType;  /* ImproperList */
extern PyObject *FrozenListType;    /* FrozenList */
extern PyObject *PidType;           /* otp._runtime._ids.Pid */
extern PyObject *RefType;           /* Ref */
extern PyObject *atom_memo;         /* _term_decode_scalars._ATOMS */
extern Py_ssize_t atom_memo_limit;  /* _term_decode_scalars._ATOMS_LIMIT */
extern PyObject *freeze_fn;         /* _terms.freeze */
extern PyObject *new_ref_fn;        /* _ids._new_ref */
extern PyObject *new_remote_pid_fn; /* _ids._new_remote_pid */
extern PyObject *py_decoders;       /* _term_decode_table._DECODERS: 256 functions */
extern PyObject *py_decode_from;    /* the pure Decoder.decode_from */
extern PyObject *py_intern_pid;     /* the pure Decoder._intern_pid */
extern PyObject *py_encode;         /* the pure encode */
extern PyObject *py_encode_into;    /* the pure _encode(term, out) */
extern int term_c_ready;

/* Interned attribute names, and the plain str a special atom gives as a node name. */
extern PyObject *s_data, *s_pids, *s_allow_pickle, *s_interned, *s_unpickle;
extern PyObject *s_items, *s_tail, *s_node_name, *s_id, *s_serial, *s_creation, *s_ids;
extern PyObject *s_version_byte;
extern PyObject *str_true, *str_false, *str_nil;

/* One decode_from call. */
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

static inline uint16_t be16(const unsigned char *q) { return (uint16_t)((q[0] << 8) | q[1]); }
static inline uint32_t be32(const unsigned char *q) {
    return ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3];
}

static inline int
is_atom_tag(unsigned char tag)
{
    return tag == 119 || tag == 118 || tag == 100 || tag == 115;
}

/* _term_c_ids.c: atoms, pids and references (NULL: hand over to the pure code). */
PyObject *term_c_atom_at(Dec *s, Py_ssize_t *pos);
PyObject *term_c_new_pid(Dec *s, Py_ssize_t *pos);
PyObject *term_c_newer_reference(Dec *s, Py_ssize_t *pos);

/* _term_c_decode.c: Decoder.decode_from, called as a method. */
PyObject *term_c_decode_from(PyObject *module, PyObject *const *args, Py_ssize_t nargsf,
                             PyObject *kwnames);

/* _term_c_encode.c: encode(term). */
PyObject *term_c_encode(PyObject *module, PyObject *term);

#endif

# Static types for analyzer/tls/fingerprints.py when compiled with Cython (the .py is the source).
# The caches and their bounds stay Python globals (the tests read them).
cimport cython

@cython.locals(total=Py_ssize_t, n=Py_ssize_t)
cpdef object _first_alpn(object raw_ext)
@cython.locals(t=int)
cpdef object _ext_body(list raw, int ext_type)
cpdef bint _is_alnum(int b)

# Static types for analyzer/tls/buffer.py when compiled with Cython (the .py is the source).
cimport cython


cdef class Buffer:
    cdef public object data
    cdef public Py_ssize_t pos, end

    cpdef Py_ssize_t remaining(self)
    cpdef bint eof(self)
    cpdef _need(self, Py_ssize_t n, str what)
    cpdef int pull_uint8(self, str what=*) except -1
    @cython.locals(p=Py_ssize_t)
    cpdef int pull_uint16(self, str what=*) except -1
    @cython.locals(p=Py_ssize_t)
    cpdef long pull_uint24(self, str what=*) except -1
    @cython.locals(p=Py_ssize_t)
    cpdef pull_uint32(self, str what=*)
    @cython.locals(p=Py_ssize_t)
    cpdef bytes pull_bytes(self, Py_ssize_t n, str what=*)
    @cython.locals(p=Py_ssize_t)
    cpdef bytes pull_rest(self)


cdef long _pull_length(Buffer buf, int width, str what) except -1
@cython.locals(n=cython.long)
cpdef bytes pull_opaque(Buffer buf, int width, str what=*)
@cython.locals(n=cython.long, sub=Buffer)
cpdef Buffer pull_block(Buffer buf, int width, str what=*)
@cython.locals(sub=Buffer, n=Py_ssize_t, count=Py_ssize_t)
cpdef list pull_uint16_list(Buffer buf, int width, str what, object limit=*)

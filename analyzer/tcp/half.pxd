# Static types for analyzer/tcp/half.py when compiled with Cython (the .py is the source).
cimport cython

cdef long long SEQ_MASK
cdef long long SEQ_UNKNOWN
cdef long long NO_FIN
cdef Py_ssize_t _START, _END, _DATA

cdef class HalfStream:
    cdef public int d
    cdef public long long base, off, nxt, buffered, fin_off, fin_frame
    cdef public list buf
    cdef public double fin_ts
    cdef public bint fin_done

    cpdef start_at(self, long long seq)
    cpdef sync_nxt(self)
    cpdef insert(self, list piece)
    @cython.locals(ps=cython.longlong, pe=cython.longlong, c=cython.longlong, bs=cython.longlong,
                   be=cython.longlong, ov_end=cython.longlong, i=Py_ssize_t, overlapped=bint,
                   conflict=bint, out=list, buf=list)
    cpdef list trim_against(self, list pieces, object st)
    @cython.locals(s=cython.longlong, e=cython.longlong, off=cython.longlong, buf=list)
    cpdef bint drain(self, object sink, object st) except? -1
    cpdef skip_to(self, long long target, object sink, object st, long long frame, double ts)
    @cython.locals(stop=cython.longlong)
    cpdef long long first_hole_end(self, long long target) except? -1

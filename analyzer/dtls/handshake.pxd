# Static types for analyzer/dtls/handshake.py when compiled with Cython (the .py is the source).
cimport cython


cdef class HandshakeMessage:
    cdef public int msg_type, message_seq
    cdef public bytes body

cdef class Reassembler:
    cdef public long long next_seq, buffered, fragments, retransmitted
    cdef public bint started
    cdef public dict pending, early

    @cython.locals(out=list, pos=Py_ssize_t, n=Py_ssize_t, t=int, length_high=int, length_low=int, seq="long long",
                   off_high=int, off_low=int, flen_high=int, flen_low=int, length=Py_ssize_t, off=Py_ssize_t,
                   flen=Py_ssize_t, data=bytes)
    cpdef list add(self, bytes body)
    cpdef _fragment(self, int t, Py_ssize_t length, long long seq, Py_ssize_t off, bytes data, list out)
    cpdef _complete(self, HandshakeMessage msg, list out)
    @cython.locals(m=HandshakeMessage)
    cpdef _release_early(self, list out)

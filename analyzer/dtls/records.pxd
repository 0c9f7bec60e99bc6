# Static types for analyzer/dtls/records.py when compiled with Cython (the .py is the source).
cimport cython

cdef class DTLSRecord:
    cdef public int content_type, version, seq_bits
    # unsigned 64-bit: the 48-bit sequence number, and the epoch shifted above it makes the
    # 64-bit record number of DTLS 1.2's nonce and MAC (`epoch << 48 | seq`) without overflow
    cdef public unsigned long long epoch, seq
    cdef public object cid
    cdef public bytes body, header
    cdef public bint unified

cpdef bint is_dtls_version(int version)

@cython.locals(out=list, pos=Py_ssize_t, n=Py_ssize_t, p=Py_ssize_t, b=int, _type=int, version=int, epoch=int,
               seq_high="unsigned long long", seq_low="unsigned long long", seq="unsigned long long",
               length=Py_ssize_t, cid=object, rec=DTLSRecord)
cpdef tuple parse_records(bytes data, object cid_length)

@cython.locals(b=int, n=Py_ssize_t, p=Py_ssize_t, seq_len=Py_ssize_t, length=Py_ssize_t, seq="unsigned long long",
               cid=object, rec=DTLSRecord)
cdef tuple _unified(bytes data, Py_ssize_t pos, object cid_length)

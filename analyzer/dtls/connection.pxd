# Static types for analyzer/dtls/connection.py when compiled with Cython (the .py is the source).
cimport cython
from analyzer.dtls.handshake cimport HandshakeMessage, Reassembler
from analyzer.dtls.records cimport DTLSRecord

cdef class DTLSConnection:
    cdef public long long stream, frame, last_frame
    cdef public tuple client, server, reassembly, _seen, _encrypted_epochs
    cdef public double ts, last_ts
    cdef public object tls, decryptor, _record_version
    cdef public list bytes, _ccs
    cdef public dict counts
    cdef public bint _cid_seen

    @cython.locals(b0=int, records=list, rec=DTLSRecord)
    cpdef datagram(self, int d, bytes data, long long frame, double ts)
    cpdef object _cid_length(self, int d)
    @cython.locals(counts=dict, seen=dict, key=tuple, ct=int, length=Py_ssize_t, epochs=set)
    cpdef _record(self, int d, DTLSRecord rec, long long frame, double ts)
    @cython.locals(r=Reassembler, messages=list, msg=HandshakeMessage, keyed=bint)
    cpdef _fragments(self, int d, bytes body, long long frame, double ts)

# Static types for analyzer/tls/connection.py when compiled with Cython (the .py is the source).
# The MAX_* bounds and the name cache stay Python globals: other modules and the tests read them.
cimport cython

cdef int _CLIENT, _SERVER
cdef Py_ssize_t ENCRYPTED_ALERT_LENGTH, _NAME_CACHE_SIZE


cdef class _Direction:
    cdef public bytearray buf, hs
    cdef public Py_ssize_t skip
    cdef public long long records, enc_records
    cdef public bint encrypted, seen, dead, finished, ccs, sslv2


cdef class TLSConnection:
    cdef public object summary
    cdef public bint wants_payload
    cdef public object _client_hello, _server_hello
    cdef bint _dtls, _events, _roles_certain, _keep_payload_asked, _keep_payload
    cdef bint _tls13, _server_hello_seen, _late_alert
    cdef tuple _dirs
    cdef object _certs, _decryptor, _on_handshake
    cdef int _swap
    cdef set _server_flight
    cdef object _ch_ts, _last_hs_ts, _complete_ts, _completer, _last_dir
    cdef tuple _records_at_completion
    cdef long long _flights
    cdef object _not_tls_reason, _malformed, _gap, _rst
    cdef list _fin, _conflict
    cdef str _suite_kx

    @cython.locals(st=_Direction, n=Py_ssize_t)
    cpdef feed(self, int direction, object data, object frame, object ts)
    @cython.locals(b=bytes)
    cdef bint _looks_like_tls(self, int d, object data, object frame) except -1
    @cython.locals(pos=Py_ssize_t, n=Py_ssize_t, length=Py_ssize_t, end=Py_ssize_t, ct=int, version=int)
    cdef _parse_records(self, int d, _Direction st, object frame, object ts, object data=*)
    cdef _record(self, int d, _Direction st, int ct, object body, Py_ssize_t length, object frame, object ts)
    cdef _encrypted_handshake(self, int d, _Direction st, Py_ssize_t length, object frame, object ts)
    cdef _application_data(self, int d, _Direction st, Py_ssize_t length, object frame, object ts)
    cdef _decrypted_record(self, int d, _Direction st, int outer, int ct, object data, Py_ssize_t length,
                           object frame, object ts)
    cdef _sync_decryption(self)
    @cython.locals(i=Py_ssize_t, level=int, desc=int, replace=bint)
    cdef _alert(self, int d, _Direction st, object body, Py_ssize_t length, object frame, object ts,
                bint decrypted=*)
    cdef _encrypted_alert(self, int d, object frame, object ts)
    @cython.locals(pos=Py_ssize_t, length=Py_ssize_t, t=int)
    cdef _parse_handshake(self, int d, _Direction st, object frame, object ts, object data=*)
    cdef _handshake_message(self, int d, int t, object body, object frame, object ts, bint sslv2=*,
                            object raw=*)
    cdef _on_certificate(self, int d, object cert, object frame)
    cdef _on_compressed_certificate(self, int d, object cc, object frame)
    cdef _on_client_hello(self, int d, object ch, object frame, object ts)
    cdef _on_server_hello(self, int d, object sh, object frame, object ts)
    cdef _check_abbreviated(self)
    cdef _check_complete(self, int d, object ts)
    cdef bint _rejects_final_flight(self, int d, int level, int desc) except -1
    cdef _event(self, int d, str kind, object frame, object ts, Py_ssize_t length=*, str detail=*)
    cpdef _error(self, str msg)
    cpdef _set_malformed(self, int d, str msg, object frame)
    cdef _update_wants(self)

# Static types for analyzer/tls/messages.py when compiled with Cython (the .py is the source).
# The message classes stay Python dataclasses; what is typed is the reading of the bytes: the
# extension walk, the extension decoders and the hellos' indexed fast paths.
cimport cython

from analyzer.tls.buffer cimport Buffer


cpdef str _text(object raw)
@cython.locals(left=Py_ssize_t, n=Py_ssize_t)
cpdef Py_ssize_t _vec(bytes d, Py_ssize_t pos, int width, str what) except -1
@cython.locals(n=Py_ssize_t, stop=Py_ssize_t, i=Py_ssize_t)
cpdef list _u16s(bytes d, Py_ssize_t start, Py_ssize_t end, str what)
cpdef int _u16(bytes d, Py_ssize_t pos, str what) except -1

@cython.locals(end=Py_ssize_t, pos=Py_ssize_t, stop=Py_ssize_t, items=Py_ssize_t, name_type=int)
cpdef Py_ssize_t _ext_server_name(object ext, bytes d, bint server, bint hrr) except -1
@cython.locals(out=list, stop=Py_ssize_t)
cpdef list _alpn(bytes d, Py_ssize_t pos, Py_ssize_t end)
@cython.locals(end=Py_ssize_t)
cpdef Py_ssize_t _ext_alpn(object ext, bytes d, bint server, bint hrr) except -1
@cython.locals(end=Py_ssize_t)
cpdef Py_ssize_t _ext_supported_versions(object ext, bytes d, bint server, bint hrr) except -1
@cython.locals(end=Py_ssize_t, pos=Py_ssize_t, group=int, groups=list, sub=bytes)
cpdef Py_ssize_t _ext_key_share(object ext, bytes d, bint server, bint hrr) except -1
@cython.locals(end=Py_ssize_t, pos=Py_ssize_t, count=Py_ssize_t, sub=bytes)
cpdef Py_ssize_t _ext_pre_shared_key(object ext, bytes d, bint server, bint hrr) except -1
@cython.locals(end=Py_ssize_t)
cpdef Py_ssize_t _ext_renegotiation_info(object ext, bytes d, bint server, bint hrr) except -1
cpdef Py_ssize_t _ext_record_size_limit(object ext, bytes d, bint server, bint hrr) except -1
cpdef Py_ssize_t _ext_heartbeat(object ext, bytes d, bint server, bint hrr) except -1
@cython.locals(end=Py_ssize_t)
cpdef Py_ssize_t _ext_use_srtp(object ext, bytes d, bint server, bint hrr) except -1
@cython.locals(end=Py_ssize_t)
cpdef Py_ssize_t _ext_connection_id(object ext, bytes d, bint server, bint hrr) except -1
cpdef Py_ssize_t _ext_session_ticket(object ext, bytes d, bint server, bint hrr) except -1
cpdef Py_ssize_t _ext_padding(object ext, bytes d, bint server, bint hrr) except -1

@cython.locals(end=Py_ssize_t, n=Py_ssize_t, stop=Py_ssize_t, count=Py_ssize_t, ext_type=int, used=Py_ssize_t,
               raw=list, handlers=dict, body=bytes)
cpdef tuple _extensions(bytes data, Py_ssize_t pos, Py_ssize_t limit, bint server, bint hrr)

@cython.locals(n=Py_ssize_t, sl=Py_ssize_t, p=Py_ssize_t, c=Py_ssize_t, q=Py_ssize_t, r=Py_ssize_t,
               end=Py_ssize_t, cookie=bytes)
cdef object _client_hello_well_formed(bytes body, bint dtls)
@cython.locals(n=Py_ssize_t, sl=Py_ssize_t, p=Py_ssize_t, end=Py_ssize_t, hrr=bint, random=bytes)
cdef object _server_hello_well_formed(bytes body)

# Static types for analyzer/capture/reader.py when compiled with Cython (the .py is the source).
# The record loops are generators, whose locals a .pxd cannot type: they carry their own
# @cython.locals in the .py.
cimport cython

cdef Py_ssize_t _ETH4TCP_MIN, _AT_ETHERTYPE, _AT_IP, _AT_IP_TOTAL_LENGTH, _AT_IP_FRAGMENT
cdef Py_ssize_t _AT_IP_PROTOCOL, _AT_IP_SRC, _AT_IP_DST, _AT_TCP, _AT_TCP_OFFSET_FLAGS
cdef unsigned int _ETHERTYPE_IPV4, _IPV4_NO_OPTIONS, _IPPROTO_TCP, _IP_MORE_FRAGMENTS_OR_OFFSET
cdef unsigned int _TCP_MIN_DATA_OFFSET, _TCP_FLAG_BITS, _SYN_FIN_RST
cdef Py_ssize_t _PCAP_RECORD_HEADER, _EPB_HEADER
cdef object _COUNTED

cdef unsigned int _u16be(const unsigned char* p, Py_ssize_t i) noexcept
@cython.locals(b0=cython.uint, b1=cython.uint, b2=cython.uint, b3=cython.uint)
cdef unsigned int _u32be(const unsigned char* p, Py_ssize_t i) noexcept
@cython.locals(b0=cython.uint, b1=cython.uint, b2=cython.uint, b3=cython.uint)
cdef unsigned int _u32(const unsigned char* p, Py_ssize_t i, bint little) noexcept
cdef bytes _wire_bytes(const unsigned char* p, Py_ssize_t i, Py_ssize_t n)
@cython.locals(offset_flags=cython.uint, ip_end=Py_ssize_t, payload_at=Py_ssize_t, plen=Py_ssize_t, c=list)
cdef object _common_frame(const unsigned char* p, object mv, Py_ssize_t start, Py_ssize_t end,
                          Py_ssize_t frame, double ts, dict counters, double until)
cdef long long _EXACT_DOUBLE_INT
@cython.locals(iface=tuple, high=cython.ulonglong, count=cython.ulonglong, toff=cython.longlong,
               exact_div=cython.double, exact_off=cython.double)
cdef double _epb_time(const unsigned char* p, Py_ssize_t at, bint little, list ifaces) except? -1.0

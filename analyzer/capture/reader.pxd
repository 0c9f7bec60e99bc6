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

cdef Py_ssize_t _LINKTYPE_NULL, _LINKTYPE_ETHERNET, _LINKTYPE_LINUX_SLL, _LINKTYPE_LINUX_SLL2
cdef unsigned int _ETHERTYPE_IPV6, _ETHERTYPE_VLAN, _ETHERTYPE_QINQ, _ETHERTYPE_QINQ_OLD, _AF_INET
cdef Py_ssize_t _ETH_HEADER, _VLAN_TAG, _SLL_HEADER, _SLL_PROTOCOL, _SLL2_HEADER, _NULL_HEADER
cdef Py_ssize_t _IP4_HEADER, _IP6_HEADER, _TCP_HEADER, _IP4_TCP_MIN, _ETH_MIN_FOR_TCP
cdef bint _is_vlan(unsigned int ethertype) noexcept
cdef int _ip_version_of(unsigned int ethertype) noexcept
cdef bint _is_raw_ip(Py_ssize_t lt) noexcept
cdef bint _is_af_inet6(unsigned int family) noexcept
@cython.locals(caplen=Py_ssize_t, ipv=int, off=Py_ssize_t, ethertype=cython.uint, family=cython.uint)
cdef object _other_frame(const unsigned char* p, object mv, Py_ssize_t start, Py_ssize_t end,
                         Py_ssize_t frame, double ts, Py_ssize_t lt)
@cython.locals(ip=Py_ssize_t, vihl=cython.uint, total_length=Py_ssize_t, tcp=Py_ssize_t, ip_end=Py_ssize_t)
cdef object _tcp_in_ipv4(const unsigned char* p, object mv, Py_ssize_t start, Py_ssize_t caplen,
                         Py_ssize_t off, Py_ssize_t frame, double ts)
@cython.locals(ip=Py_ssize_t, payload_length=Py_ssize_t, tcp=Py_ssize_t, ip_end=Py_ssize_t)
cdef object _tcp_in_ipv6(const unsigned char* p, object mv, Py_ssize_t start, Py_ssize_t caplen,
                         Py_ssize_t off, Py_ssize_t frame, double ts)
@cython.locals(at=Py_ssize_t, offset_flags=cython.uint, payload_at=Py_ssize_t)
cdef object _tcp_segment(const unsigned char* p, object mv, Py_ssize_t start, Py_ssize_t caplen,
                         Py_ssize_t tcp, Py_ssize_t ip_end, bytes src, bytes dst, Py_ssize_t frame, double ts)

# Static types for analyzer/tcp/table.py when compiled with Cython (the .py is the source).
cimport cython

from analyzer.tcp.flow cimport Flow, FlowExtra
from analyzer.tcp.half cimport HalfStream

cdef int ACK, FIN, FIN_OR_RST, RST, SYN
cdef int MODE_CLOSED, MODE_FAST, MODE_NOSINK, MODE_PAYLOAD
cdef long long SEQ_HALF, SEQ_MASK, MAX_SEQ_JUMP, SEQ_UNKNOWN, NO_FIN, WHEEL_COMPACT_AFTER

cdef class FlowTable:
    cdef object _factory, _flow_get, _on_empty, _st
    cdef public object _on_new_flow
    cdef public double idle_timeout
    cdef public long long max_buffer, max_tombstones, max_segments, max_flows, max_retryable
    cdef readonly dict _flows
    cdef readonly object _tombs, _retry
    cdef long long _next_stream, _nseg, _wheel_dead
    cdef dict _wheel
    cdef list _wheel_keys
    cdef double _now, _next_check
    cdef bint _flushing, _frozen
    cdef public object segment_filter, on_flow_created
    cdef dict _counters

    @cython.locals(frame=cython.longlong, ts=cython.double, seq=cython.longlong, ack=cython.longlong,
                   flags=cython.int, plen=cython.longlong, fl=cython.int, d=cython.int, mode=cython.int,
                   f=Flow, x=FlowExtra, h=HalfStream, o=HalfStream, onxt=cython.longlong)
    cpdef add(self, object seg)
    @cython.locals(d=cython.int, seen=cython.longlong, bit=cython.int, mode=cython.int, x=FlowExtra,
                   h=HalfStream, old=Flow, pure_syn=bint, reused=bint, created=bint, again=bint, ended=bint)
    cdef _slow(self, Flow f, tuple key, int fl, long long frame, double ts, object sport, object dport,
               long long seq, long long ack, int flags, object payload, long long plen)
    cdef Flow _new_flow(self, tuple key, int fl, long long frame, double ts, object sport, object dport,
                        int flags)
    cdef _schedule(self, Flow f, double ts)
    cdef _restart(self, Flow f)
    cdef Flow _revive(self, Flow f, long long frame, double ts)
    @cython.locals(x=FlowExtra, h0=HalfStream, h1=HalfStream, h=HalfStream)
    cdef _payload(self, Flow f, int d, long long frame, double ts, long long seq, long long ack, int flags,
                  object payload, long long plen)
    @cython.locals(x=FlowExtra, h=HalfStream, o=HalfStream, onxt=cython.longlong, delta=cython.longlong)
    cdef _process(self, Flow f, int d, long long frame, double ts, long long seq, long long ack, int flags,
                  object payload, long long plen)
    @cython.locals(x=FlowExtra)
    cdef _finrst(self, Flow f, int d, long long frame, double ts, long long seq, int flags)
    @cython.locals(x=FlowExtra, h=HalfStream)
    cdef _go_fast(self, Flow f)
    @cython.locals(n=cython.longlong, delta=cython.longlong, off=cython.longlong, s=cython.longlong,
                   e=cython.longlong, cut=cython.longlong, conflicts=cython.longlong, pieces=list, buf=list)
    cdef _data(self, Flow f, HalfStream h, long long seq, object payload, long long plen, long long frame,
               double ts)
    @cython.locals(x=FlowExtra)
    cdef _drain(self, Flow f, HalfStream h)
    cdef _gap_to(self, Flow f, HalfStream h, long long target, long long frame, double ts)
    @cython.locals(target=cython.longlong, stop=cython.longlong, before=cython.longlong)
    cdef _ack_gap(self, Flow f, HalfStream o, long long ack, long long frame, double ts)
    @cython.locals(x=FlowExtra, h=HalfStream)
    cdef _flush(self, Flow f, long long frame, double ts)
    cdef _filter_on(self, Flow f)
    @cython.locals(n=cython.longlong, ko=cython.int, d=cython.int, ca=list, cb=list, c=list)
    cdef _fold(self, Flow f)
    @cython.locals(f=Flow)
    cpdef _fold_all(self)
    cdef _filter_off(self, Flow f)
    @cython.locals(x=FlowExtra)
    cpdef _close(self, Flow f, str reason, long long frame, double ts)
    @cython.locals(f=Flow)
    cdef _compact_wheel(self)
    @cython.locals(f=Flow, limit=cython.double)
    cdef _expire(self, double ts)
    @cython.locals(f=Flow, i=Py_ssize_t, target=cython.longlong)
    cdef _evict_for_room(self)

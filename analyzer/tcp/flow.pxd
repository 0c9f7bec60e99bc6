# Static types for analyzer/tcp/flow.py when compiled with Cython (the .py is the source).
from analyzer.tcp.half cimport HalfStream

cdef int MODE_CLOSED, MODE_NOSINK

cdef class FlowExtra:
    cdef public object synack_frame, fin0, fin1, rst_frame, rst_direction, close_reason, close_frame
    cdef public HalfStream h0, h1

cdef class Flow:
    cdef public long long stream, first_frame, last_frame
    cdef public tuple _key
    cdef public int _ko, _sb, _mode
    cdef public double start_ts, last_ts
    cdef public object role_source, syn_frame, _isn0, _isn1, sink, _fc
    cdef public long long _packets_from_client, _packets_from_server, _bytes_from_client, _bytes_from_server
    cdef public FlowExtra _x

    cpdef FlowExtra _extra(self)

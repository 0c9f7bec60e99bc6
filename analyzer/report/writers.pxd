# Static types for analyzer/report/writers.py when compiled with Cython (the .py is the source).
# What is typed is the CSV line loop: the column kinds are read as C bytes, the cells built
# without a Python-level call per cell.
cimport cython

cpdef str _text_field(str v, dict fields)
cpdef str _list_field(object v, dict joined)
cdef int _CELL_PLAIN, _CELL_TEXT, _CELL_LIST, _CELL_TIME
cdef object _UTC
cdef Py_ssize_t _MINUTE_TEXT
@cython.locals(key=tuple, head=str, second=cython.int, microsecond=cython.int)
cpdef str _time_field(object v, dict minutes)
@cython.locals(i=Py_ssize_t, kind=int, cells=list)
cpdef str _csv_line(tuple row, bytes kinds, dict fields, dict joined, dict minutes)

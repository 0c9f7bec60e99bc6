# Static types for analyzer/report/writers.py when compiled with Cython (the .py is the source).
# What is typed is the CSV line loop: the column kinds are read as C bytes, the cells built
# without a Python-level call per cell.
cimport cython

cpdef str _text_field(str v, dict fields)
cpdef str _list_field(object v, dict joined)
@cython.locals(i=Py_ssize_t, kind=int, cells=list)
cpdef str _csv_line(tuple row, bytes kinds, dict fields, dict joined)

# Augments ocppkit/_rpc_py.py when setup.py compiles it as ocppkit._rpc_c: Connection and
# _Outgoing become extension types with C-level attributes (the Python source is unchanged).
cdef class _Outgoing:
    cdef public object action, data, request, unique_id

cdef class Connection:
    cdef public object role, version
    cdef public Py_ssize_t bad_messages
    cdef public object _allowed_pending, _boot, _clock, _codec, _deadline, _ids, _late, _outstanding, _queue
    cdef public object _received, _slot
    cdef public list _events, _outbox
    cdef public bint _gating
    cdef public Py_ssize_t _max_pending, _max_queue
    cdef public double _timeout
    cdef _emit(self, event)
    cdef _write(self, data)
    cdef _fire(self, event)
    cdef _transmit(self, _Outgoing out)
    cdef _dequeue(self)
    cdef _answered(self, uid, str kind)

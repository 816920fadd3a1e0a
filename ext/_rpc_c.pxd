# Augments ocppkit/_rpc_py.py when setup.py compiles it as ocppkit._rpc_c: Connection and
# _Outgoing become extension types with C-level attributes, and the connection's internal
# steps C-level methods (the Python source is unchanged; the pure twin runs it as is).
cdef dict _REQUEST_ACTIONS, _RESPONSE_ACTIONS

cdef class _Outgoing:
    cdef public object action, data, request, unique_id

cdef class Connection:
    cdef public object role, version
    cdef public Py_ssize_t bad_messages
    cdef public object _allowed_pending, _boot, _clock, _codec, _deadline, _ids, _slot, _id_prefix
    cdef public object _receive, _encode_call, _encode_result
    cdef public _Outgoing _outstanding
    cdef public list _queue, _late
    cdef public dict _received
    cdef public Py_ssize_t _id_count
    cdef public list _events, _outbox
    cdef public bint _gating
    cdef public Py_ssize_t _max_pending, _max_queue
    cdef public double _timeout
    cdef _emit(self, event)
    cdef _write(self, data)
    cdef _fire(self, event)
    cdef _fire_boot(self, status)
    cdef _next_id(self)
    cdef bint _is_in_flight(self, unique_id) except -1
    cdef _transmit(self, _Outgoing out)
    cdef _dequeue(self)
    cdef _take_received(self, unique_id)
    cdef _violation(self, exc)
    cdef _on_call(self, uid, action, request, relaxations)
    cdef bint _boot_allows(self, action) except -1
    cdef _refuse(self, uid, code, description, rule)
    cdef _Outgoing _answered(self, uid, str kind)
    cdef _on_result(self, uid, response, relaxations)
    cdef _on_error(self, uid, code, description, details)
    cdef _unmatched(self, uid, str kind)

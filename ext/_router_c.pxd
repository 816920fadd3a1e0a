# Augments ocppkit/_router_py.py when setup.py compiles it as ocppkit._router_c: answer() becomes
# a C-level call inside the module (Router.dispatch), still callable from Python as before.
cpdef answer(conn, event, outcome)

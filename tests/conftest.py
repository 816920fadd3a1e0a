"""Shared fixtures: every codec test runs against both twins (pure Python and the C extension).

Also the markers of the suite (registered in pyproject.toml): ``MARKS`` applies them by folder,
module or test, so that test files need no decorator for them. ``pytest -m "not slow"`` is the
quick loop; docs/development.md says what each marker means.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import pytest

# The repository root, for `import codegen` in the generator tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


#: Markers by node-id prefix: a folder (ending in "/"), a module, or ``module::test`` (all its
#: parameters). tests/test_markers.py checks that every entry still names something.
MARKS: dict[str, tuple[str, ...]] = {
    # another OCPP implementation (or its tooling)
    "tests/interop/": ("interop",),
    # ... on the other end of a loopback WebSocket
    "tests/interop/test_ocpp_package.py": ("network",),
    "tests/interop/test_outbox_ocpp_package.py": ("network",),  # our outbox across its CSMS's restart
    "tests/interop/test_devicemodel_csms.py": ("network",),  # our CSMS mirror reads its station's reports
    "tests/devicemodel/test_mirror_book.py": ("network",),  # MirrorBook, fetch_report over loopback
    "tests/devicemodel/test_round_trip.py": ("network",),  # our station -> our CSMS mirror over loopback
    # ... in Node.js subprocesses, with ocpp-rpc from the npm registry (about 10 s)
    "tests/interop/test_ocpp_rpc.py": ("network", "slow"),
    # the device-model catalogue: regenerating _standard.py with the pinned ruff; mypy on its names
    "tests/devicemodel/test_standard_codegen.py::test_a_new_2_0_1_variable_reaches_2_1": ("slow",),
    "tests/devicemodel/test_standard_codegen.py::test_a_misspelt_variable_name_is_a_type_error": ("slow",),  # mypy
    # ... through the ASGI (uvicorn, Starlette) and aiohttp front doors
    "tests/interop/test_asgi_aiohttp_interop.py": ("network",),
    "tests/interop/test_asgi_aiohttp_interop.py::test_ocpp_rpc_station_against_the_asgi_app_in_starlette": ("slow",),
    # issue 14's conformance suite: every server transport (tests/conformance/servers_*.py) against
    # the same tests, servers and clients on 127.0.0.1, TLS
    "tests/conformance/": ("network",),
    # --loop uvloop: `ocppkit demo`, `serve` and `station` processes on 127.0.0.1 (about 5 s)
    "tests/adapters/test_cli_loop.py::test_demo_serve_and_station_on_uvloop": ("network", "slow"),
    "tests/adapters/test_cli_loop.py::test_the_loop_benchmark_times_both_loops_and_passes_the_choice_on": ("network",),
    # the adapters' suite: servers and clients on 127.0.0.1, TLS
    "tests/adapters/test_websockets.py": ("network",),
    "tests/adapters/test_websockets.py::test_cli_serve_and_station": ("slow",),
    # issue 14's picows transport: servers and stations on 127.0.0.1, TLS, the CLI
    "tests/adapters/test_picows.py": ("network",),
    "tests/adapters/test_picows.py::test_cli_serve_and_station_on_picows": ("slow",),
    "tests/adapters/test_picows_security.py": ("network",),
    # ... with the ocpp package's ChargePoint and ocpp-rpc (Node) as the stations
    "tests/interop/test_picows_interop.py": ("network", "slow"),
    # issue 11's attacks: flooders, takeovers, TLS refusals, all over loopback sockets
    "tests/adapters/test_flood.py": ("network",),
    "tests/adapters/test_flood.py::test_a_flood_is_refused_then_closed_while_a_good_station_is_served": ("slow",),
    "tests/adapters/test_security_tls.py": ("network",),
    # issue 14: the ASGI adapter under uvicorn (bare, Starlette, FastAPI), the aiohttp handler
    "tests/adapters/test_asgi.py": ("network",),
    "tests/adapters/test_aiohttp.py": ("network",),
    "tests/adapters/test_asgi_bench_servers.py": ("network", "slow"),  # benchmark server subprocesses
    "tests/test_check.py::test_capture_of_a_real_loopback_session_by_tshark": ("network",),
    # issue 13's station registry: csms.call from anywhere, events, blocking() from threads
    "tests/adapters/test_registry.py": ("network",),
    "tests/adapters/test_registry_events.py": ("network",),
    # ... with the ocpp package's ChargePoint as the station
    "tests/adapters/test_registry_interop.py": ("interop", "network"),
    # the ledger in a CSMS's handlers, over loopback WebSockets
    "tests/transactions/test_over_websockets.py": ("network",),
    "tests/test_check.py::test_a_real_websocket_session_recorded_by_the_csms": ("network",),
    # issue 13's cluster: a real redis-server on 127.0.0.1, nodes and stations over loopback WebSockets
    "tests/cluster/": ("network",),
    "tests/cluster/test_cluster.py::test_two_nodes_a_client_calls_each_station_typed": ("slow",),
    "tests/cluster/test_cluster.py::test_calls_queue_at_the_node_with_their_deadline_and_bounds": ("slow",),
    "tests/cluster/test_three_nodes.py": ("interop",),
    "tests/cluster/test_faults.py::test_a_node_killed_with_sigkill_expires_and_its_station_is_reached_elsewhere": (
        "slow",
    ),
    # issue 16's station device model over loopback WebSockets (our CSMS; the ocpp package's)
    "tests/adapters/test_devicemodel.py": ("network",),
    "tests/interop/test_devicemodel_station.py": ("network",),
    "tests/devicemodel/test_reports_property.py": ("slow",),  # report paging under Hypothesis (about 10 s)
    # issue 15's station: a CSMS sets, reads and clears profiles on our station over loopback
    "tests/adapters/test_smartcharging.py": ("network",),
    "tests/adapters/test_smartcharging.py::test_on_limit_follows_period_boundaries_and_the_transaction_end": ("slow",),
    "tests/interop/test_smartcharging_ocpp_package.py": ("network",),
    "tests/test_cli.py::test_the_simulated_station_answers_smart_charging": ("network",),
    "tests/test_cli.py::test_the_simulated_station_keeps_its_profiles_in_the_outbox_file": ("network", "slow"),
    # the big suites: every schema against jsonschema, the twins under Hypothesis, mypy, codegen
    "tests/test_differential.py": ("slow",),
    "tests/test_codec_parity.py": ("slow",),
    "tests/test_rpc_states.py": ("slow",),
    "tests/test_typing.py": ("slow",),
    "tests/test_codegen.py": ("slow",),
    "tests/test_markers.py::test_minus_m_selects_on_the_applied_markers": ("slow",),  # a pytest subprocess
    # issue 12's proof: a silent partition through the test's TCP proxy, noticed by the pings
    "tests/outbox_e2e/test_partition.py": ("network", "slow"),
    # ... and a CSMS process, a station process, kill -9, a partition, CALLERRORs (about 30 s)
    "tests/outbox_e2e/test_processes.py": ("network", "slow"),
    "tests/outbox_e2e/test_cli_outbox.py": ("network", "slow"),  # `ocppkit station --outbox` processes
    # the outbox under Hypothesis: random interleavings with crashes, on both stores (about 20 s)
    "tests/outbox/test_property.py": ("slow",),
    # the composite-schedule engine against the brute-force reference under Hypothesis (3-6 s each)
    "tests/smartcharging/test_property.py": ("slow",),
}


def pytest_configure(config: pytest.Config) -> None:
    if sys.version_info < (3, 11):
        # CPython 3.10's asyncio.sslproto makes the application transport in SSLProtocol.__init__
        # and never closes it when the TLS handshake fails (a station that does not trust the CSMS):
        # no caller ever gets it, so nothing can close it, and its __del__ warns. 3.11 rewrote
        # sslproto and closes it. Warnings stay errors for everything else.
        config.addinivalue_line(
            "filterwarnings", r"ignore:unclosed transport <asyncio\.sslproto\._SSLProtocolTransport:ResourceWarning"
        )


def marks_for(nodeid: str) -> list[str]:
    """The markers that ``MARKS`` gives a test (node id relative to the repository)."""
    base = nodeid.split("[", 1)[0]
    found: list[str] = []
    for prefix, names in MARKS.items():
        if base == prefix or base.startswith(prefix + "::") or (prefix.endswith("/") and base.startswith(prefix)):
            found += [n for n in names if n not in found]
    return found


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on them
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).resolve().parent.parent
    for item in items:
        try:
            relative = Path(item.path).resolve().relative_to(root).as_posix()
        except ValueError:
            continue
        nodeid = relative + item.nodeid[item.nodeid.index("::") :] if "::" in item.nodeid else relative
        for name in marks_for(nodeid):
            item.add_marker(name)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--no-ext", action="store_true", help="skip the C extension twin (run the pure one only)")


def _c_codec() -> Any:
    if importlib.util.find_spec("ocppkit._codec_c") is None:
        return None
    from ocppkit._codec_c import Codec

    return Codec


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "Codec" in metafunc.fixturenames:
        from ocppkit._codec_py import Codec as PyCodec

        impls: list[Any] = [pytest.param(PyCodec, id="py")]
        c = _c_codec()
        if not metafunc.config.getoption("--no-ext") and os.environ.get("OCPPKIT_NO_EXTENSIONS", "") in ("", "0"):
            if c is not None:  # a missing extension fails tests/test_codec.py::test_extension_is_in_use
                impls.append(pytest.param(c, id="c"))
        metafunc.parametrize("Codec", impls)
    if "Connection" in metafunc.fixturenames:
        from ocppkit._rpc_py import Connection as PyConnection

        conns: list[Any] = [pytest.param(PyConnection, id="py")]
        if not metafunc.config.getoption("--no-ext") and os.environ.get("OCPPKIT_NO_EXTENSIONS", "") in ("", "0"):
            if importlib.util.find_spec("ocppkit._rpc_c") is not None:
                from ocppkit._rpc_c import Connection as CConnection

                conns.append(pytest.param(CConnection, id="c"))
        metafunc.parametrize("Connection", conns)

"""A stand-in for the server's Elixir peer, run by the venv's own python.

Some servers serve only once their caller answers (snakepit's pings
``BridgeService.Ping`` at ``--elixir-address`` until it does). ``launch``
starts this script first: it serves ``--service`` from the shipped stubs on
127.0.0.1, answering every unary method with the default (empty) response,
prints ``READY <port>`` and runs until stdin closes or SIGTERM.

Not imported by hexpack: like ``smoke_client.py`` it may use only the
standard library, what the venv has installed (grpcio, protobuf) and the
stubs found on ``--stubs``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from concurrent import futures


def _service(stubs: str, name: str):
    """(service descriptor, pb2 module) of ``name`` among the ``*_pb2.py`` modules under ``stubs``."""
    for dirpath, dirnames, filenames in os.walk(stubs):
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", "tests", "test") and not d.startswith("."))
        for filename in sorted(filenames):
            if not filename.endswith("_pb2.py"):
                continue
            module_name = os.path.relpath(os.path.join(dirpath, filename[:-3]), stubs).replace(os.sep, ".")
            try:
                module = importlib.import_module(module_name)
            except Exception:  # a stub that does not load here is not the peer's
                continue
            for service in module.DESCRIPTOR.services_by_name.values():
                if name in (service.full_name, service.name):
                    return service, module
    raise SystemExit(f"no service {name} in the *_pb2.py stubs under {stubs}")


def _message_class(descriptor):
    # lazy: protobuf lives in the venv under test, beside the stubs
    from google.protobuf import message_factory

    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory().GetPrototype(descriptor)


def _handlers(grpc, service):
    methods = {}
    for method in service.methods:
        if method.client_streaming or method.server_streaming:
            continue  # only unary calls are answered; streams stay UNIMPLEMENTED
        request, response = _message_class(method.input_type), _message_class(method.output_type)
        methods[method.name] = grpc.unary_unary_rpc_method_handler(
            lambda _request, _context, _response=response: _response(),
            request_deserializer=request.FromString,
            response_serializer=response.SerializeToString,
        )
    return grpc.method_handlers_generic_handler(service.full_name, methods)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stubs", required=True, help="directory holding the shipped stub modules")
    parser.add_argument("--service", required=True, help="the service to answer, e.g. snakepit.bridge.BridgeService")
    args = parser.parse_args()
    sys.path.insert(0, args.stubs)

    # lazy: grpc lives in the venv under test; --help works without it
    import grpc

    service, _module = _service(args.stubs, args.service)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((_handlers(grpc, service),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    # No Python code runs for SIGTERM: a handler setting a threading.Event could land while the main
    # thread held that Event's lock and wait for it forever. The C handler writes the signal's number to
    # this pipe from whichever thread takes it; stdin's end writes a 0.
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write, warn_on_full_buffer=False)
    signal.signal(signal.SIGTERM, lambda *_: None)

    def watch_stdin() -> None:
        while sys.stdin.read(4096):
            pass
        os.write(wakeup_write, b"\0")

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"READY {port}", flush=True)
    while os.read(wakeup_read, 1)[0] not in (0, signal.SIGTERM):
        pass
    server.stop(grace=1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

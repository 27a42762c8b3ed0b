"""The consumer side of the smoke test, run by the venv's own python.

Not imported by hexpack: ``smoke.py`` runs this file as a script with the
interpreter of the venv under test, so it may use only the standard library
and what that venv has installed (grpcio and protobuf), plus the stubs found
on ``--stubs`` (the unpacked ``priv/python``) or installed (the wheel).

It checks ``grpc.health.v1.Health/Check`` (raw bytes, so it needs no
grpcio-health-checking; ``--no-health`` skips it) and calls ``--method``
(``Ping``) of ``--service`` (or of the first service that has it) through the
stub class of the shipped ``*_pb2_grpc`` module, then prints one JSON line.

With ``--imports a,b`` it instead imports those modules (a package without a
server of its own) and prints which failed and why.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys


def _health(grpc, channel, timeout: float) -> str:
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check", request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    raw = check(b"", timeout=timeout)
    # HealthCheckResponse: field 1 (status) as a varint; absent means UNKNOWN
    status = raw[1] if len(raw) >= 2 and raw[0] == 0x08 else 0
    return {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}.get(status, str(status))


def _grpc_modules(stubs: str | None, package: str | None) -> list[str]:
    names = []
    if stubs:
        for dirpath, dirnames, filenames in os.walk(stubs):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
            for filename in sorted(filenames):
                if filename.endswith("_pb2_grpc.py"):
                    rel = os.path.relpath(os.path.join(dirpath, filename[:-3]), stubs)
                    names.append(rel.replace(os.sep, "."))
    if package:
        module = importlib.import_module(package)
        for directory in getattr(module, "__path__", []):
            for filename in sorted(os.listdir(directory)):
                if filename.endswith("_pb2_grpc.py"):
                    names.append(f"{package}.{filename[:-3]}")
    return names


def _call(channel, method: str, modules: list[str], timeout: float, wanted: str = "") -> dict:
    tried = []
    for grpc_name in modules:
        grpc_module = importlib.import_module(grpc_name)
        pb2 = importlib.import_module(grpc_name[: -len("_grpc")])
        for service in pb2.DESCRIPTOR.services_by_name.values():
            tried.append(service.full_name)
            if wanted and service.full_name != wanted:
                continue
            descriptor = service.methods_by_name.get(method)
            if descriptor is None:
                continue
            stub = getattr(grpc_module, f"{service.name}Stub")(channel)
            request_class = getattr(pb2, descriptor.input_type.name)
            request = request_class()
            if "message" in request_class.DESCRIPTOR.fields_by_name:
                request.message = "hexpack verify"
            reply = getattr(stub, method)(request, timeout=timeout)
            # lazy: protobuf lives in the venv under test, beside the stubs
            from google.protobuf import json_format

            return {
                "service": service.full_name,
                "module": grpc_name,
                "module_file": grpc_module.__file__,
                "reply": json_format.MessageToDict(reply),
            }
    looked_for = wanted or f"with a {method} method"
    where = ", ".join(modules) or "no *_pb2_grpc module"
    raise SystemExit(f"no service {looked_for} in {where} ({', '.join(tried)})")


def _imports(modules: list[str]) -> int:
    """Import each module; one JSON line with what failed (the exception's type and message)."""
    failed = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as exc:  # SystemExit at import time is a failure to report too
            failed[name] = f"{type(exc).__name__}: {exc}".strip()
    print(json.dumps({"python": sys.version.split()[0], "imported": modules, "failed": failed}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    parser.add_argument("--service", default="", help="the full name of the service to call (default: any)")
    parser.add_argument("--no-health", action="store_true", help="skip the grpc.health.v1 check")
    parser.add_argument("--imports", help="comma-separated modules to import instead of calling a server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--stubs", help="directory holding the shipped stub modules (priv/python)")
    parser.add_argument("--package", help="an installed package holding the stub modules")
    parser.add_argument("--method", default="Ping")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    if args.stubs:
        sys.path.insert(0, args.stubs)
    if args.imports is not None:
        return _imports([m for m in args.imports.split(",") if m])
    if args.port is None:
        parser.error("--port is required")

    # lazy: grpc lives in the venv under test; --imports runs without it
    import grpc

    with grpc.insecure_channel(f"{args.host}:{args.port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=args.timeout)
        health = None if args.no_health else _health(grpc, channel, args.timeout)
        call = _call(channel, args.method, _grpc_modules(args.stubs, args.package), args.timeout, args.service)
    versions = {}
    for dist in ("grpcio", "protobuf", "grpcio-health-checking"):
        try:
            # lazy: importlib.metadata only for the versions in the report
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:  # not installed
            pass
    print(json.dumps({"health": health, "python": sys.version.split()[0], "versions": versions, **call}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The consumer side of the smoke test, run by the venv's own python.

Not imported by hexpack: ``smoke.py`` runs this file as a script with the
interpreter of the venv under test, so it may use only the standard library
and what that venv has installed (grpcio and protobuf), plus the stubs found
on ``--stubs`` (the unpacked ``priv/python``) or installed (the wheel).

It checks ``grpc.health.v1.Health/Check`` (raw bytes, so it needs no
grpcio-health-checking) and calls ``--method`` (``Ping``) through the stub
class of the shipped ``*_pb2_grpc`` module, then prints one JSON line.
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


def _call(channel, method: str, modules: list[str], timeout: float) -> dict:
    tried = []
    for grpc_name in modules:
        grpc_module = importlib.import_module(grpc_name)
        pb2 = importlib.import_module(grpc_name[: -len("_grpc")])
        for service in pb2.DESCRIPTOR.services_by_name.values():
            tried.append(service.full_name)
            descriptor = service.methods_by_name.get(method)
            if descriptor is None:
                continue
            stub = getattr(grpc_module, f"{service.name}Stub")(channel)
            request_class = getattr(pb2, descriptor.input_type.name)
            request = request_class()
            if "message" in request_class.DESCRIPTOR.fields_by_name:
                request.message = "hexpack verify"
            reply = getattr(stub, method)(request, timeout=timeout)
            from google.protobuf import json_format

            return {
                "service": service.full_name,
                "module": grpc_name,
                "module_file": grpc_module.__file__,
                "reply": json_format.MessageToDict(reply),
            }
    raise SystemExit(
        f"no service with a {method} method in {', '.join(modules) or 'no *_pb2_grpc module'} ({', '.join(tried)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--stubs", help="directory holding the shipped stub modules (priv/python)")
    parser.add_argument("--package", help="an installed package holding the stub modules")
    parser.add_argument("--method", default="Ping")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    if args.stubs:
        sys.path.insert(0, args.stubs)

    import grpc

    with grpc.insecure_channel(f"{args.host}:{args.port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=args.timeout)
        health = _health(grpc, channel, args.timeout)
        call = _call(channel, args.method, _grpc_modules(args.stubs, args.package), args.timeout)
    versions = {}
    for dist in ("grpcio", "protobuf", "grpcio-health-checking"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:  # not installed
            pass
    print(json.dumps({"health": health, "python": sys.version.split()[0], "versions": versions, **call}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

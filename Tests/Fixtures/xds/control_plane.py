"""A small xDS control plane for the tests, on grpcio and Envoy's own transport messages (the
xds-protos package): the aggregated discovery service, delta and state of the world. The
gateway's resource types (Protos/agentgateway/config/v1/resources.proto) are compiled with
grpcio-tools when it starts. It runs inside the test process: `set(...)` pushes resources to
every stream, `requests` keeps every request the gateway sent (subscriptions, ACKs, NACKs)."""
import hashlib
import importlib
import queue
import sys
import tempfile
import threading
import uuid
from concurrent import futures
from pathlib import Path

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.protobuf import any_pb2, struct_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[3]
TYPES = {kind: f"type.googleapis.com/agentgateway.config.v1.{kind}" for kind in ("Plugin", "Listener", "Route")}


def compile_resources():
    """resources_pb2, compiled from the repo's .proto into a temporary directory."""
    out = tempfile.mkdtemp(prefix="agw-proto-")
    include = Path(protoc.__file__).parent / "_proto"
    code = protoc.main(["protoc", f"-I{ROOT / 'Protos'}", f"-I{include}", f"--python_out={out}",
                        str(ROOT / "Protos" / "agentgateway" / "config" / "v1" / "resources.proto")])
    assert code == 0, "protoc failed on resources.proto"
    sys.path.insert(0, out)
    return importlib.import_module("agentgateway.config.v1.resources_pb2")


resources_pb2 = compile_resources()


def struct(values):
    message = struct_pb2.Struct()
    message.update(values)
    return message


class Stream:
    def __init__(self, delta):
        self.delta = delta
        self.out = queue.Queue()
        self.subscribed = set()
        self.known = {}  # type → {name: version} (delta) or version_info sent (state of the world)


class ControlPlane(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):
    def __init__(self, port=0):
        self.lock = threading.Lock()
        self.resources = {url: {} for url in TYPES.values()}  # type → {name: (version, Any)}
        self.version = 0
        self.streams = []
        self.requests = []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port(f"127.0.0.1:{port}")
        self.server.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        with self.lock:
            for stream in self.streams:
                stream.out.put(None)
        self.server.stop(grace=0).wait()

    # What the tests push.

    def set(self, plugins=(), listeners=(), routes=(), raw=()):
        """Replaces every resource with these messages (resources_pb2 objects), plus `raw`
        (type_url, name, Any) for resources the gateway should refuse; pushes the changes."""
        current = {url: {} for url in TYPES.values()}
        for kind, messages in (("Plugin", plugins), ("Listener", listeners), ("Route", routes)):
            for message in messages:
                packed = any_pb2.Any()
                packed.Pack(message)
                current[TYPES[kind]][message.name] = packed
        for type_url, name, packed in raw:
            current[type_url][name] = packed
        with self.lock:
            self.version += 1
            self.resources = {url: {name: (hashlib.sha256(packed.SerializeToString()).hexdigest()[:12], packed)
                                    for name, packed in by_name.items()} for url, by_name in current.items()}
            for stream in self.streams:
                for url in TYPES.values():
                    if url in stream.subscribed:
                        self._push(stream, url)

    def acks(self, type_url=None):
        return [r for r in self.requests if r.response_nonce and not r.error_detail.message and r.type_url == (type_url or r.type_url)]

    def nacks(self):
        return [r for r in self.requests if r.response_nonce and r.error_detail.message]

    def subscriptions(self):
        return [r for r in self.requests if not r.response_nonce]

    # The service.

    def DeltaAggregatedResources(self, request_iterator, context):
        return self._serve(Stream(delta=True), request_iterator)

    def StreamAggregatedResources(self, request_iterator, context):
        return self._serve(Stream(delta=False), request_iterator)

    def _serve(self, stream, request_iterator):
        with self.lock:
            self.streams.append(stream)

        def read():
            try:
                for request in request_iterator:
                    self._receive(stream, request)
            except Exception:  # noqa: BLE001 - the stream ended
                pass
            stream.out.put(None)

        threading.Thread(target=read, daemon=True).start()
        try:
            while (response := stream.out.get()) is not None:
                yield response
        finally:
            with self.lock:
                if stream in self.streams:
                    self.streams.remove(stream)

    def _receive(self, stream, request):
        with self.lock:
            self.requests.append(request)
            if request.type_url not in TYPES.values() or request.response_nonce:
                return  # an ACK or a NACK: recorded
            stream.subscribed.add(request.type_url)
            if stream.delta:
                stream.known[request.type_url] = dict(request.initial_resource_versions)
            self._push(stream, request.type_url, first=True)

    def _push(self, stream, url, first=False):
        current = self.resources[url]
        if stream.delta:
            known = stream.known.setdefault(url, {})
            changed = [name for name, (version, _) in current.items() if known.get(name) != version]
            removed = [name for name in known if name not in current]
            if not (changed or removed or first):
                return
            response = discovery_pb2.DeltaDiscoveryResponse(type_url=url, nonce=uuid.uuid4().hex,
                                                            system_version_info=str(self.version), removed_resources=removed)
            for name in changed:
                version, packed = current[name]
                response.resources.add(name=name, version=version, resource=packed)
            stream.known[url] = {name: version for name, (version, _) in current.items()}
        else:
            version = str(self.version)
            if not first and stream.known.get(url) == version:
                return
            response = discovery_pb2.DiscoveryResponse(type_url=url, nonce=uuid.uuid4().hex, version_info=version,
                                                       resources=[packed for _, packed in current.values()])
            stream.known[url] = version
        stream.out.put(response)

import SwiftProtobuf
import XDSProto

/// The xDS protocol on one aggregated stream, without I/O: which requests open the stream, how a
/// response becomes a candidate set of resources, and the ACK or NACK that answers it.
///
/// Both variants of the transport protocol: incremental (delta: responses carry changed and
/// removed resources, the gateway names what it has with `initial_resource_versions` when it
/// reconnects) and state of the world (each response carries every resource of its type; ACK and
/// NACK carry the last accepted `version_info`). The gateway subscribes to all of its three
/// types (`XDSResourceType`) with a wildcard. A response is never applied by the session itself:
/// the client hands `candidate(with:)` to the reloader and then calls `accept` or `reject`.
struct XDSSession: Sendable {
    enum Mode: Sendable { case delta, stateOfTheWorld }

    /// A request to send.
    enum Outbound: Sendable {
        case delta(Envoy_Service_Discovery_V3_DeltaDiscoveryRequest)
        case stateOfTheWorld(Envoy_Service_Discovery_V3_DiscoveryRequest)
    }

    /// A response read, the full set of its type it leads to, waiting for the verdict.
    struct Pending: Sendable {
        var type: XDSResourceType
        var nonce: String
        /// State of the world: the response's `version_info`; delta: `system_version_info`.
        var version: String
        /// Every resource of `type` after this response.
        var resources: XDSSnapshot
        /// Delta: every resource's version after this response.
        var resourceVersions: [String: String]
    }

    let mode: Mode
    let node: Envoy_Config_Core_V3_Node
    /// What the gateway serves from the control plane (kept across reconnects).
    private(set) var accepted = XDSSnapshot()
    private var resourceVersions: [XDSResourceType: [String: String]] = [:]
    private var acceptedVersions: [XDSResourceType: String] = [:]

    init(mode: Mode, node: Envoy_Config_Core_V3_Node) {
        self.mode = mode
        self.node = node
    }

    /// The first requests on a new stream: one wildcard subscription per type, naming what the
    /// gateway has already (so a reconnect does not start from nothing).
    func openingRequests() -> [Outbound] {
        XDSResourceType.allCases.map { type in
            switch mode {
            case .delta:
                var request = Envoy_Service_Discovery_V3_DeltaDiscoveryRequest()
                request.node = node
                request.typeURL = type.rawValue
                request.resourceNamesSubscribe = ["*"]
                request.initialResourceVersions = resourceVersions[type] ?? [:]
                return .delta(request)
            case .stateOfTheWorld:
                var request = Envoy_Service_Discovery_V3_DiscoveryRequest()
                request.node = node
                request.typeURL = type.rawValue
                request.versionInfo = acceptedVersions[type] ?? ""
                return .stateOfTheWorld(request)
            }
        }
    }

    /// Reads an incremental response. A resource that cannot be decoded refuses the whole
    /// response: the NACK is returned instead.
    func read(_ response: Envoy_Service_Discovery_V3_DeltaDiscoveryResponse) -> Result<Pending, XDSRefusal> {
        guard let type = XDSResourceType(rawValue: response.typeURL) else {
            return .failure(XDSRefusal(typeURL: response.typeURL, nonce: response.nonce, message: "the gateway does not subscribe to \(response.typeURL)"))
        }
        var resources = accepted.only(type)
        var versions = resourceVersions[type] ?? [:]
        for name in response.removedResources {
            resources.remove(type, name: name)
            versions.removeValue(forKey: name)
        }
        for resource in response.resources {
            do {
                try resources.insert(type, name: resource.name, resource: resource.resource)
            } catch {
                return .failure(XDSRefusal(typeURL: response.typeURL, nonce: response.nonce, message: error.description))
            }
            versions[resource.name] = resource.version
        }
        return .success(Pending(type: type, nonce: response.nonce, version: response.systemVersionInfo,
                                resources: resources, resourceVersions: versions))
    }

    /// Reads a state-of-the-world response: its resources replace every one of its type.
    func read(_ response: Envoy_Service_Discovery_V3_DiscoveryResponse) -> Result<Pending, XDSRefusal> {
        guard let type = XDSResourceType(rawValue: response.typeURL) else {
            return .failure(XDSRefusal(typeURL: response.typeURL, nonce: response.nonce, message: "the gateway does not subscribe to \(response.typeURL)"))
        }
        var resources = XDSSnapshot()
        var seen = Set<String>()
        for resource in response.resources {
            let name: String
            do {
                name = try Self.name(of: resource, type: type)
                guard seen.insert(name).inserted else {
                    return .failure(XDSRefusal(typeURL: response.typeURL, nonce: response.nonce, message: "\(type.kind) '\(name)' is listed twice"))
                }
                try resources.insert(type, name: name, resource: resource)
            } catch let error as XDSResourceError {
                return .failure(XDSRefusal(typeURL: response.typeURL, nonce: response.nonce, message: error.description))
            } catch {
                return .failure(XDSRefusal(typeURL: response.typeURL, nonce: response.nonce, message: "\(error)"))
            }
        }
        return .success(Pending(type: type, nonce: response.nonce, version: response.versionInfo, resources: resources, resourceVersions: [:]))
    }

    /// What the gateway would serve from the control plane with these responses applied.
    func candidate(with pending: [Pending]) -> XDSSnapshot {
        var snapshot = accepted
        for item in pending { snapshot.replace(item.type, from: item.resources) }
        return snapshot
    }

    /// The reloader applied the candidate: remember it, and ACK each response.
    mutating func accept(_ pending: [Pending]) -> [Outbound] {
        pending.map { item in
            accepted.replace(item.type, from: item.resources)
            resourceVersions[item.type] = item.resourceVersions
            acceptedVersions[item.type] = item.version
            return answer(type: item.type, nonce: item.nonce, error: nil)
        }
    }

    /// The candidate was refused: NACK each response with why (the last accepted stays).
    func reject(_ pending: [Pending], message: String) -> [Outbound] {
        pending.map { answer(type: $0.type, nonce: $0.nonce, error: message) }
    }

    /// The NACK for a response that could not even be read.
    func reject(_ refusal: XDSRefusal) -> Outbound {
        answer(typeURL: refusal.typeURL, nonce: refusal.nonce, error: refusal.message)
    }

    private func answer(type: XDSResourceType, nonce: String, error: String?) -> Outbound {
        answer(typeURL: type.rawValue, nonce: nonce, error: error)
    }

    private func answer(typeURL: String, nonce: String, error: String?) -> Outbound {
        var status: Google_Rpc_Status?
        if let error {
            var detail = Google_Rpc_Status()
            detail.code = 3  // INVALID_ARGUMENT
            detail.message = error
            status = detail
        }
        switch mode {
        case .delta:
            var request = Envoy_Service_Discovery_V3_DeltaDiscoveryRequest()
            request.node = node
            request.typeURL = typeURL
            request.responseNonce = nonce
            if let status { request.errorDetail = status }
            return .delta(request)
        case .stateOfTheWorld:
            var request = Envoy_Service_Discovery_V3_DiscoveryRequest()
            request.node = node
            request.typeURL = typeURL
            request.responseNonce = nonce
            request.versionInfo = XDSResourceType(rawValue: typeURL).flatMap { acceptedVersions[$0] } ?? ""
            if let status { request.errorDetail = status }
            return .stateOfTheWorld(request)
        }
    }

    /// A state-of-the-world resource's name: its message's `name` field.
    private static func name(of resource: Google_Protobuf_Any, type: XDSResourceType) throws -> String {
        switch type {
        case .plugin: return try Agentgateway_Config_V1_Plugin(unpackingAny: resource).name
        case .listener: return try Agentgateway_Config_V1_Listener(unpackingAny: resource).name
        case .route: return try Agentgateway_Config_V1_Route(unpackingAny: resource).name
        }
    }
}

/// A response the gateway refuses before any reload: NACKed with `message`.
struct XDSRefusal: Error, Sendable {
    var typeURL: String
    var nonce: String
    var message: String
}

extension XDSSnapshot {
    /// Only the resources of `type`.
    func only(_ type: XDSResourceType) -> XDSSnapshot {
        var snapshot = XDSSnapshot()
        snapshot.replace(type, from: self)
        return snapshot
    }

    /// This snapshot with `type`'s resources taken from `other`.
    mutating func replace(_ type: XDSResourceType, from other: XDSSnapshot) {
        switch type {
        case .plugin: plugins = other.plugins
        case .listener: listeners = other.listeners
        case .route: routes = other.routes
        }
    }
}

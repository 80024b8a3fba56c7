import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOPosix
import ServiceLifecycle
import XDSProto

/// Takes configuration from a control plane over xDS (`[xds]`): one aggregated discovery stream
/// (gRPC over plaintext HTTP/2, delta or state of the world), every response applied through the
/// `ConfigReloader` and answered with an ACK or a NACK naming the refused resource. When the
/// stream breaks it reconnects with exponential backoff (with jitter), naming what it has, while
/// the last good configuration keeps serving.
struct XDSClient: Service {
    let config: XDSConfig
    let reloader: ConfigReloader
    let logger: Logger
    /// How long the first responses are collected before the first apply, so that routes are not
    /// refused for naming plugins whose response comes next.
    var warmup: Duration = .seconds(2)

    func run() async throws {
        var node = Envoy_Config_Core_V3_Node()
        node.id = config.nodeID
        node.cluster = config.cluster
        node.userAgentName = "agentgateway"
        node.userAgentVersion = GatewayVersion.current
        let driver = XDSDriver(session: XDSSession(mode: config.delta ? .delta : .stateOfTheWorld, node: node),
                               reloader: reloader, logger: logger)
        var backoff = config.initialBackoffMilliseconds
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let received: Bool
            do {
                received = try await cancelWhenGracefulShutdown { try await stream(driver) }
                logger.warning("xDS stream ended by the control plane", metadata: ["address": "\(config.address)"])
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                received = await driver.receivedOnThisStream
                logger.warning("xDS stream failed; serving the last good configuration", metadata: [
                    "address": "\(config.address)", "error": "\(error)"])
            }
            if received { backoff = config.initialBackoffMilliseconds }
            let delay = backoff / 2 + Int.random(in: 0...max(1, backoff / 2))
            logger.info("xDS: reconnecting", metadata: ["in_ms": "\(delay)"])
            try? await Task.sleep(for: .milliseconds(delay))
            backoff = min(backoff * 2, config.maxBackoffMilliseconds)
        }
    }

    /// One stream, until it ends; true when the control plane answered on it.
    private func stream(_ driver: XDSDriver) async throws -> Bool {
        let target: any ResolvableTarget = config.address.host.first?.isNumber == true
            ? .ipv4(address: config.address.host, port: config.address.port)
            : .dns(host: config.address.host, port: config.address.port)
        let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext)
        let (outbound, continuation) = AsyncStream<XDSSession.Outbound>.makeStream()
        for request in await driver.opened() { continuation.yield(request) }
        let warmup = self.warmup
        let logger = self.logger
        let address = config.address
        let delta = config.delta
        return try await withGRPCClient(transport: transport) { client in
            let ads = Envoy_Service_Discovery_V3_AggregatedDiscoveryService.Client(wrapping: client)
            let warming = Task {
                try? await Task.sleep(for: warmup)
                for request in await driver.endWarmup() { continuation.yield(request) }
            }
            defer { warming.cancel() }
            logger.notice("xDS: subscribing", metadata: ["address": "\(address)", "mode": "\(delta ? "delta" : "state of the world")"])
            if delta {
                try await ads.deltaAggregatedResources { writer in
                    for await case .delta(let request) in outbound { try await writer.write(request) }
                } onResponse: { response in
                    defer { continuation.finish() }
                    for try await message in response.messages {
                        for request in await driver.received(message) { continuation.yield(request) }
                    }
                }
            } else {
                try await ads.streamAggregatedResources { writer in
                    for await case .stateOfTheWorld(let request) in outbound { try await writer.write(request) }
                } onResponse: { response in
                    defer { continuation.finish() }
                    for try await message in response.messages {
                        for request in await driver.received(message) { continuation.yield(request) }
                    }
                }
            }
            return await driver.receivedOnThisStream
        }
    }
}

/// The session and its decisions, shared by a stream's reader and the warm-up timer.
actor XDSDriver {
    private var session: XDSSession
    private let reloader: ConfigReloader
    private let logger: Logger
    /// Responses collected before the first apply.
    private var warming: [XDSSession.Pending] = []
    private var warm = false
    private(set) var receivedOnThisStream = false

    init(session: XDSSession, reloader: ConfigReloader, logger: Logger) {
        self.session = session
        self.reloader = reloader
        self.logger = logger
    }

    /// A new stream: the subscriptions to send.
    func opened() -> [XDSSession.Outbound] {
        receivedOnThisStream = false
        return session.openingRequests()
    }

    func received(_ response: Envoy_Service_Discovery_V3_DeltaDiscoveryResponse) async -> [XDSSession.Outbound] {
        await handle(session.read(response))
    }

    func received(_ response: Envoy_Service_Discovery_V3_DiscoveryResponse) async -> [XDSSession.Outbound] {
        await handle(session.read(response))
    }

    /// The warm-up is over: apply what came so far (if anything).
    func endWarmup() async -> [XDSSession.Outbound] {
        guard !warm else { return [] }
        warm = true
        guard !warming.isEmpty else { return [] }
        let batch = warming
        warming = []
        return await apply(batch)
    }

    private func handle(_ read: Result<XDSSession.Pending, XDSRefusal>) async -> [XDSSession.Outbound] {
        receivedOnThisStream = true
        switch read {
        case .failure(let refusal):
            logger.error("xDS: NACK", metadata: ["type": "\(refusal.typeURL)", "error": "\(refusal.message)"])
            return [session.reject(refusal)]
        case .success(let pending):
            guard warm else {
                warming.removeAll { $0.type == pending.type }
                warming.append(pending)
                guard Set(warming.map(\.type)).count == XDSResourceType.allCases.count else { return [] }
                return await endWarmup()
            }
            return await apply([pending])
        }
    }

    private func apply(_ batch: [XDSSession.Pending]) async -> [XDSSession.Outbound] {
        let candidate = session.candidate(with: batch)
        if candidate == session.accepted {
            return session.accept(batch)  // nothing changed (a re-sent version): ACK without a reload
        }
        let record = await reloader.apply(xds: candidate)
        let versions = batch.map { "\($0.type.kind)=\($0.version)" }.joined(separator: " ")
        if record.result == .applied {
            logger.info("xDS: ACK", metadata: ["versions": "\(versions)", "generation": "\(record.generation)"])
            return session.accept(batch)
        }
        let message = record.error ?? "refused"
        logger.error("xDS: NACK", metadata: ["versions": "\(versions)", "error": "\(message)"])
        return session.reject(batch, message: message)
    }
}

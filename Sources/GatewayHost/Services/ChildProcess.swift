#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CProcessSpawn
import NIOCore
import NIOExtras
import NIOPosix
import ABIInterop
import PluginABI

/// A child process a plugin started (`process_spawn`), e.g. a stdio MCP server.
///
/// stdout and stderr arrive as one event per line; `EXIT` comes after the last line. The process
/// is stopped the way stdio servers expect: close stdin, then SIGTERM, then SIGKILL.
final class ChildProcess: @unchecked Sendable {
    private weak var scope: AsyncScope?
    private let id: UInt64
    private let pid: pid_t
    private let eventLoop: EventLoop
    private var stdin: Channel?
    private var openOutputs = 2
    private var exitStatus: Int32?
    private var exitDelivered = false
    private var reaper: RepeatedTask?
    private var terminating = false
    /// Completes once the process has exited and was reaped.
    let exited: EventLoopPromise<Void>

    private init(scope: AsyncScope, id: UInt64, pid: pid_t) {
        self.scope = scope
        self.id = id
        self.pid = pid
        self.eventLoop = scope.eventLoop
        self.exited = scope.eventLoop.makePromise(of: Void.self)
    }

    static func spawn(scope: AsyncScope, spec: agw_process_spec, processID: UnsafeMutablePointer<UInt64>) -> agw_result {
        guard spec.argc > 0, let argv = spec.argv else { return AGW_ERR_INVALID_ARGUMENT }
        let arguments = (0..<spec.argc).map { argv[$0].string }
        guard let program = arguments.first, !program.isEmpty else { return AGW_ERR_INVALID_ARGUMENT }
        var environment: [String] = []
        if spec.flags & AGW_PROCESS_INHERIT_ENV != 0 {
            var entry = environ
            while let pointer = entry.pointee {
                environment.append(String(cString: pointer))
                entry += 1
            }
        }
        for (name, value) in HostAPI.pairs(spec.env, spec.env_count) {
            environment.removeAll { $0.hasPrefix(name + "=") }
            environment.append("\(name)=\(value)")
        }
        let workingDirectory = spec.working_directory.len > 0 ? spec.working_directory.string : nil

        var pid: pid_t = 0
        var stdinFD: Int32 = -1, stdoutFD: Int32 = -1, stderrFD: Int32 = -1
        let result = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                agw_spawn(program, argv, envp, workingDirectory, &pid, &stdinFD, &stdoutFD, &stderrFD)
            }
        }
        guard result == 0 else {
            ProcessWide.pluginLogger.warning("cannot start child process", metadata: ["program": "\(program)", "error": "\(String(cString: strerror(result)))"])
            return result == ENOENT ? AGW_ERR_NOT_FOUND : AGW_ERR_INTERNAL
        }
        let id = scope.makeID()
        let process = ChildProcess(scope: scope, id: id, pid: pid)
        scope.register(process: process, id: id)
        process.attach(stdin: stdinFD, stdout: stdoutFD, stderr: stderrFD)
        processID.pointee = id
        return AGW_OK
    }

    private func attach(stdin: Int32, stdout: Int32, stderr: Int32) {
        NIOPipeBootstrap(group: eventLoop).takingOwnershipOfDescriptor(output: stdin).whenComplete { result in
            switch result {
            case .success(let channel): self.stdin = channel
            case .failure: close(stdin)
            }
        }
        for (fd, type) in [(stdout, AGW_EVENT_PROCESS_STDOUT), (stderr, AGW_EVENT_PROCESS_STDERR)] {
            NIOPipeBootstrap(group: eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers([
                            ByteToMessageHandler(LineBasedFrameDecoder()),
                            LineForwarder(process: self, type: type),
                        ])
                    }
                }
                .takingOwnershipOfDescriptor(input: fd)
                .whenFailure { _ in
                    close(fd)
                    self.outputClosed()
                }
        }
    }

    fileprivate func deliver(line: ByteBuffer, type: agw_event_type) {
        scope?.deliver(HostEvent(type: type, id: id, data: line))
    }

    /// After both stdout and stderr closed, reap the child and report its exit.
    fileprivate func outputClosed() {
        openOutputs -= 1
        if openOutputs == 0 { startReaping() }
    }

    /// Polls waitpid until the child is gone (it may exit while a grandchild holds the pipes).
    private func startReaping() {
        guard reaper == nil, !exitDelivered else { return }
        reaper = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(20)) { task in
            var status: Int32 = 0
            let reaped = waitpid(self.pid, &status, WNOHANG)
            guard reaped == self.pid || reaped < 0 else { return }
            task.cancel()
            let code: Int32 = reaped < 0 ? -1 : ((status & 0x7f) == 0 ? (status >> 8) & 0xff : -(status & 0x7f))
            self.reportExit(code)
        }
    }

    private func reportExit(_ code: Int32) {
        guard !exitDelivered else { return }
        exitDelivered = true
        exitStatus = code
        stdin?.close(promise: nil)
        if terminating { kill(-pid, SIGKILL) }  // whatever the child left behind in its group
        scope?.exited(processID: id)
        scope?.deliver(HostEvent(type: AGW_EVENT_PROCESS_EXIT, id: id, code: code))
        exited.succeed()
    }

    func write(_ data: ByteBuffer) -> agw_result {
        guard exitStatus == nil, let stdin, stdin.isActive else { return AGW_ERR_GONE }
        stdin.writeAndFlush(data, promise: nil)
        return AGW_OK
    }

    /// Close stdin; SIGTERM after `graceMilliseconds`; SIGKILL after as long again. Signals go to
    /// the child's process group, so its own children stop too.
    func terminate(graceMilliseconds: UInt32) {
        let pid = self.pid
        eventLoop.execute {
            guard !self.terminating, !self.exitDelivered else { return }
            self.terminating = true
            self.stdin?.close(promise: nil)
            self.startReaping()
            let grace = TimeAmount.milliseconds(Int64(max(graceMilliseconds, 1)))
            self.eventLoop.scheduleTask(in: grace) {
                guard !self.exitDelivered else { return }
                kill(-pid, SIGTERM)
                self.eventLoop.scheduleTask(in: grace) {
                    if !self.exitDelivered { kill(-pid, SIGKILL) }
                }
            }
        }
    }
}

/// Hands each stdout/stderr line to its process; notices the pipe closing.
private final class LineForwarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let process: ChildProcess
    private let type: agw_event_type

    init(process: ChildProcess, type: agw_event_type) {
        self.process = process
        self.type = type
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        process.deliver(line: Self.unwrapInboundIn(data), type: type)
    }

    func channelInactive(context: ChannelHandlerContext) {
        process.outputClosed()
    }
}

/// Calls body with a NULL-terminated C array of the strings.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

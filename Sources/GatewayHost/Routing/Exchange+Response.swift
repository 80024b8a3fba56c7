import NIOCore
import NIOHTTP1
import PluginABI

/// The response side of an exchange: the head from the backend or the handler through the
/// response hooks, the body streamed or buffered, local replies and failures, and the end of the
/// stream (`on_stream_complete`, `stream_destroy`, scopes closed).
extension Exchange {
    // MARK: - Response

    /// The response head from the backend or the handler. Returns a future when a response filter
    /// paused (the backend's body should wait until it completes), nil when the head went through.
    @discardableResult
    func beginResponse(_ head: HTTPResponseHead, endOfStream: Bool) -> EventLoopFuture<Void>? {
        guard !isComplete, !localReplied, chain.canBeginResponse else { return nil }
        responseHead = head
        return responseBegan(endOfStream: endOfStream)
    }

    /// The backend's head as read: kept as bytes, made NIO's type only if something reads it.
    @discardableResult
    func beginResponse(forwarding upstream: UpstreamHead, endOfStream: Bool) -> EventLoopFuture<Void>? {
        guard !isComplete, !localReplied, chain.canBeginResponse else { return nil }
        madeResponseHead = nil
        forwardedResponse = upstream
        responseStatus = upstream.status
        return responseBegan(endOfStream: endOfStream)
    }

    private func responseBegan(endOfStream: Bool) -> EventLoopFuture<Void>? {
        // Streamed or not only matters to filters that read response bodies: no header walk otherwise.
        perform(chain.responseBegan(endOfStream: endOfStream, streamed: chain.hasResponseBodyHooks && responseHead.map(isStreamed) ?? false))
        guard !chain.responseHeadersAreDone, !isComplete else { return nil }
        let done = eventLoop.makePromise(of: Void.self)
        responseHeadersDone = done
        return done.futureResult
    }

    /// Whether a response goes to the client as it comes (`stream_content_types`, or it says
    /// `x-accel-buffering: no`), never buffered for body hooks.
    /// Names and values are compared as bytes, in any case (no lowercased copies).
    private func isStreamed(_ head: HTTPResponseHead) -> Bool {
        for (name, value) in head.headers {
            if HeadBytes.nameIs(name, "content-type") {
                if route.limits.streamedContentTypes.contains(where: { Self.value(value, hasLowercasePrefix: $0) }) { return true }
            } else if HeadBytes.nameIs(name, "x-accel-buffering"), value.utf8.count == 2, Self.value(value, hasLowercasePrefix: "no") {
                return true
            }
        }
        return false
    }

    /// Whether `value` starts with `prefix` (given in lower case), in any ASCII case.
    static func value(_ value: String, hasLowercasePrefix prefix: String) -> Bool {
        var value = value, prefix = prefix
        return value.withUTF8 { value in
            prefix.withUTF8 { prefix in
                guard value.count >= prefix.count else { return false }
                for index in 0..<prefix.count where ((value[index] &- 65) < 26 ? value[index] | 0x20 : value[index]) != prefix[index] {
                    return false
                }
                return true
            }
        }
    }

    /// A response body chunk. Returns a future when the client is behind (completes when it took
    /// the chunk), nil otherwise.
    @discardableResult
    /// A handler's body piece in its own memory: gathered into the response as it is written
    /// when the response is under way (one copy); else it becomes a buffer like the proxy's.
    func receiveResponseBody(bytes: UnsafeRawBufferPointer) {
        guard !isComplete, !localReplied else { return }
        if responseStarted, let responder, responder.isWritable, responder.writeBody(bytes: bytes) {
            responseBodyBytes += bytes.count
            return
        }
        _ = receiveResponseBody(ByteBuffer(bytes: bytes))
    }

    func receiveResponseBody(_ chunk: ByteBuffer) -> EventLoopFuture<Void>? {
        guard !isComplete, !localReplied else { return nil }
        if responseStarted, let responder {
            responseBodyBytes += chunk.readableBytes
            if responder.isWritable {
                responder.writeBody(chunk, promise: nil)
                return nil
            }
            let written = eventLoop.makePromise(of: Void.self)
            responder.writeBody(chunk, promise: written)
            return written.futureResult
        }
        chain.responseBodyArrived()
        if responseBody == nil {
            responseBody = chunk
        } else {
            var chunk = chunk
            responseBody!.writeBuffer(&chunk)
        }
        if chain.isBufferingResponse, responseBody!.readableBytes > route.limits.maxBufferedResponseBytes {
            backendCall?.cancel()
            fail(status: .badGateway, "upstream response exceeds max_buffered_response_bytes (\(route.limits.maxBufferedResponseBytes)) that a filter asked to buffer")
        }
        return nil
    }

    func receiveResponseEnd() {
        guard !isComplete, !localReplied else { return }
        let next = chain.responseDidEnd()
        if responseStarted {
            finishResponse()
        } else {
            perform(next) // buffered: the body hooks; paused: they finish the response when resumed
        }
    }

    /// The backend failed. Before the response started this becomes a 502/504 reply.
    func upstreamFailed(status: HTTPResponseStatus, message: String) {
        guard !isComplete else { return }
        services.logger.warning("upstream failed", metadata: logMetadata.merging(["status": "\(status.code)", "reason": "\(message)"]) { $1 })
        fail(status: status, message, log: false)
    }

    /// The head went through its hooks: write it and what body came meanwhile, then stream.
    func streamResponse() {
        let resumedAfterPause = responseHeadersDone != nil
        writeResponseHead()
        if let body = responseBody {
            responseBody = nil
            responseBodyBytes += body.readableBytes
            responder?.writeBody(body, promise: nil)
        }
        if chain.responseEnded {
            finishResponse()
        } else if resumedAfterPause {
            responder?.flush() // resumed from an event: nobody else flushes now
        }
        responseHeadersDone?.succeed()
        responseHeadersDone = nil
    }

    /// The buffered response went through its body hooks: write it whole.
    func writeBufferedResponse() {
        let body = responseBody ?? ByteBuffer()
        responseBody = nil
        responseHead?.headers.remove(name: "transfer-encoding")
        responseHead?.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        writeResponseHead()
        responseBodyBytes += body.readableBytes
        if body.readableBytes > 0 { responder?.writeBody(body, promise: nil) }
        finishResponse()
    }

    private func writeResponseHead() {
        guard !responseStarted else { return }
        if let upstream = forwardedResponse.take() {
            responseStarted = true
            responder?.writeHead(forwarding: upstream, version: requestHead.version)
            // The read buffer the head lies in goes back to its connection; a filter that reads
            // the response's headers later gets them as NIO's type.
            if !stages.isEmpty { madeResponseHead = upstream.forwardedHead }
            return
        }
        guard var head = responseHead else { return }
        responseStarted = true
        // Set only when it differs: the head's storage is shared with `responseHead`, so a write
        // would copy it.
        if head.version != requestHead.version { head.version = requestHead.version }
        responder?.writeHead(head)
    }

    private func finishResponse() {
        responder?.writeEnd()
        responder?.flush()
        markComplete()
    }

    /// Sends what was written (the proxy calls this once per backend read batch).
    func flushResponse() {
        flushPending = false
        responder?.flush()
    }

    /// A handler's response writes inside one hook leave in one flush, when the hook returns
    /// (a head and its body in one segment, not two).
    func flushResponseAfterHook() {
        if hookDepth > 0 { flushPending = true } else { flushResponse() }
    }

    // MARK: - Local replies and failures

    /// Answers the client now (host function `send_local_reply`, and the host's own errors).
    @discardableResult
    func sendLocalReply(status: HTTPResponseStatus, headers: [(String, String)], body: String) -> agw_result {
        var buffer = services.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        return sendLocalReply(status: status, headers: headers, body: buffer)
    }

    func sendLocalReply(status: HTTPResponseStatus, headers: [(String, String)], body: ByteBuffer) -> agw_result {
        guard !isComplete, !localReplied else { return AGW_ERR_GONE }
        guard !responseStarted else { return AGW_ERR_WRONG_STATE }
        localReplied = true
        backendCall?.cancel()
        var head = HTTPResponseHead(version: requestHead.version, status: status)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if !head.headers.contains(name: "content-type"), body.readableBytes > 0 {
            head.headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        }
        head.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        responseStarted = true
        responseHead = head
        responder?.writeHead(head)
        responseBodyBytes += body.readableBytes
        if body.readableBytes > 0 { responder?.writeBody(body, promise: nil) }
        responder?.writeEnd()
        responder?.flush()
        responseHeadersDone?.succeed()
        responseHeadersDone = nil
        markComplete()
        return AGW_OK
    }

    /// Ends the request with an error status and a one-line body, or aborts if the response started.
    func fail(status: HTTPResponseStatus, _ message: String, log: Bool = true) {
        if log {
            services.logger.error("request failed", metadata: logMetadata.merging(["status": "\(status.code)", "reason": "\(message)"]) { $1 })
        }
        if responseStarted {
            responder?.abortResponse()
            markComplete()
        } else {
            sendLocalReply(status: status, headers: [], body: "\(status.code) \(status.reasonPhrase): \(message)\n")
        }
    }

    // MARK: - Completion

    func markComplete() {
        chain.complete() // no hook runs any more, even before the teardown below
        if isInHook {
            completionPending = true
        } else {
            complete()
        }
    }

    /// Tells every filter the stream is over (`on_stream_complete`, then `stream_destroy`), closes
    /// the scopes (cancelling their calls and timers) and releases the responder.
    func complete() {
        guard !isCompleting else { return }
        isCompleting = true
        chain.complete()
        backendCall?.cancel()
        backendCall = nil
        responseHeadersDone?.succeed()
        responseHeadersDone = nil
        for (index, stage) in stages.enumerated() where index < contexts.count {
            guard let hook = stage.type.hooks.on_stream_complete else { continue }
            let context = contexts[index]
            callPlugin(stage: index, hook: .streamComplete) { hook(context, handle) }
        }
        for (index, stage) in stages.enumerated() where index < contexts.count {
            if let context = contexts[index] { stage.type.hooks.stream_destroy?(context) }
        }
        contexts = []
        for scope in scopes { scope?.close() }
        scopes = []
        scratch.reset()
        recordFinished()
        responder?.exchangeFinished(self)
    }
}

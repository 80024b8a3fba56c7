import NIOCore

/// What an exchange leaves behind when it is over: its request metrics.
extension Exchange {
    /// The status the client got, 0 when none was sent (the client left first).
    var answeredStatus: Int { responseStarted ? Int(responseHead?.status.code ?? 0) : 0 }

    /// Records the finished exchange. Called once, from `complete()`.
    func recordFinished() {
        let elapsed = NIODeadline.now().uptimeNanoseconds &- startedAt
        guard let metrics = requestMetrics else { return }
        metrics.count(method: requestHead.method, status: answeredStatus)
        metrics.duration.record(Double(elapsed) / 1e9)
        if requestBodyBytes > 0 { metrics.requestBytes.increment(by: Int64(requestBodyBytes)) }
        if responseBodyBytes > 0 { metrics.responseBytes.increment(by: Int64(responseBodyBytes)) }
    }
}

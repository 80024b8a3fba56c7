/// A process's output, as the host delivers it.
public enum ProcessOutput: Sendable {
    case stdout([UInt8])
    case stderr(String)
    /// Exit status, or minus the signal.
    case exit(Int32)
}


/// An HTTP call's event, as the host delivers it.
public enum HTTPCallEvent: Sendable {
    /// The head; `end`: no body follows.
    case response(status: Int, contentType: String?, sessionID: String?, end: Bool)
    case body([UInt8], end: Bool)
    case failed(String)
}

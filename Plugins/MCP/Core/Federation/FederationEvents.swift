/// A process's output, as the host delivers it.
public enum ProcessOutput: Sendable {
    case stdout([UInt8])
    case stderr(String)
    /// Exit status, or minus the signal.
    case exit(Int32)
}


/// An HTTP call's event, as the host delivers it. Used only during the `httpEvent` call that
/// carries it: a body chunk is read in place from the host's memory (no copy on the way in).
public enum HTTPCallEvent {
    /// The head; `contentLength` when the server sent one; `end`: no body follows.
    case response(status: Int, contentType: String?, sessionID: String?, contentLength: Int? = nil, end: Bool)
    /// A chunk of the body, valid only during the call that carries it.
    case body(UnsafeRawBufferPointer, end: Bool)
    case failed(String)
}

@testable import GatewayHost
import NIOCore
import NIOPosix
import XCTest

/// An idle pooled connection closes after the idle timeout, counted from its last use: taking it
/// and parking it again pushes the deadline out (the timer is not re-made per request).
final class ConnectionPoolIdleTests: XCTestCase {
    func testAnIdleConnectionClosesAfterTheTimeoutCountedFromItsLastUse() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let server = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        let loop = group.next()
        let pool = ConnectionPool(origin: .init(scheme: "http", host: "127.0.0.1", port: server.localAddress!.port!), eventLoop: loop,
                                  connectTimeout: .seconds(2), requestTimeout: nil, sslContext: nil, idleTimeout: .seconds(1))
        let connection = try loop.flatSubmit { pool.connect() }.wait()
        try loop.submit { pool.release(connection) }.wait()
        // Reused at 0.3 s and parked again: still open at 1.2 s (1 s after the first park).
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertTrue(try loop.submit { pool.takeIdle() === connection }.wait())
        try loop.submit { pool.release(connection) }.wait()
        Thread.sleep(forTimeInterval: 0.9)
        XCTAssertTrue(connection.channel.isActive, "closed 1 s after its first park, though used since")
        // Closed once 1 s passes without use, and gone from the pool.
        let deadline = Date().addingTimeInterval(5)
        while connection.channel.isActive, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertFalse(connection.channel.isActive)
        XCTAssertTrue(try loop.submit { pool.takeIdle() == nil }.wait())
    }
}

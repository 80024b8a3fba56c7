// swift-tools-version:6.1
import PackageDescription

/// Links with lld and packs relative relocations (`DT_RELR`, glibc 2.36+): the dynamic loader
/// reads ~15 KB of them instead of ~1.8 MB of `.rela.dyn`, which would otherwise stay resident
/// (1.3 MB of an idle gateway's RSS; issue 14).
let compactRelocations = ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"]

/// Linker flags that keep a plugin's dynamic symbol table to its entry symbol.
/// Everything else (PluginKit, the plugin's own Swift code) stays local to the image.
let packageRoot = String(#filePath.dropLast("/Package.swift".count))
let pluginLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "--version-script=\(packageRoot)/Plugins/exports.map", "-Xlinker", "-z", "-Xlinker", "nodelete"]
                 + compactRelocations),
]

/// Declares one Swift plugin's `.dynamic` entry target (what the gateway `dlopen`s), with only
/// its entry symbol exported.
func swiftPlugin(_ name: String, path: String, dependencies: [Target.Dependency] = []) -> [Target] {
    [.target(name: name, dependencies: ["PluginKit"] + dependencies, path: path, linkerSettings: pluginLinkerSettings)]
}

/// A plugin in three targets: its logic (`Core`, no host needed), its glue to the host
/// (`Plugin`, unit-tested with PluginKitTesting) and its entry point (`Entry`, the `.dynamic`
/// product: one file).
func threePartPlugin(_ name: String, glue: [Target.Dependency] = []) -> [Target] {
    [
        .target(name: "\(name)Plugin", dependencies: ["PluginKit", .target(name: "\(name)Core")] + glue, path: "Plugins/\(name)/Plugin"),
        .target(name: "\(name)Entry", dependencies: ["PluginKit", .target(name: "\(name)Plugin")], path: "Plugins/\(name)/Entry",
                linkerSettings: pluginLinkerSettings),
    ]
}

let package = Package(
    name: "agentgateway",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "agentgateway", targets: ["GatewayHost"]),
        .executable(name: "demo-mcp-server", targets: ["DemoMCPServer"]),
        .library(name: "PluginKit", targets: ["PluginKit"]),
        .library(name: "PluginKitTesting", targets: ["PluginKitTesting"]),
        // Plugins: each a shared library the gateway dlopens (lib<name>.so next to the executable).
        .library(name: "noop", type: .dynamic, targets: ["NoopPlugin"]),
        .library(name: "mcp", type: .dynamic, targets: ["MCPEntry"]),
        .library(name: "jwt_auth", type: .dynamic, targets: ["JWTAuthEntry"]),
        .library(name: "rbac", type: .dynamic, targets: ["RBACEntry"]),
        .library(name: "ratelimit", type: .dynamic, targets: ["RateLimitEntry"]),
        .library(name: "a2a", type: .dynamic, targets: ["A2AEntry"]),
        .library(name: "annotate", type: .dynamic, targets: ["AnnotateEntry"]),
        .library(name: "require_header", type: .dynamic, targets: ["RequireHeaderExample"]),
        .library(name: "test_filters", type: .dynamic, targets: ["TestFiltersPlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        // OpenAPI 3.0 and 3.1 documents (the MCP plugin's `openapi` targets); YAML for them. No
        // external loading: a target's document must be self-contained.
        .package(url: "https://github.com/mattpolzin/OpenAPIKit.git", from: "6.4.0", traits: []),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // The ABI: one C header, nothing else.
        .target(name: "PluginABI", path: "Sources/PluginABI"),
        // dlopen, entry lookup, version and size checks.
        .target(name: "CPluginLoader", dependencies: ["PluginABI"], path: "Sources/CPluginLoader",
                linkerSettings: [.linkedLibrary("dl")]),
        // posix_spawn with pipes, for plugins' child processes (host-internal).
        .target(name: "CProcessSpawn", path: "Sources/CProcessSpawn"),
        // JSON read lazily as bytes: a validating reader and values that are ranges into the bytes.
        .target(name: "JSON", path: "Sources/JSON"),
        // HTTP/1.x messages read from a connection's bytes, strictly (no dependencies: the host's
        // codec uses it, and scripts/fuzz compiles it alone with libFuzzer).
        .target(name: "HTTP1", path: "Sources/HTTP1"),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1", .product(name: "NIOCore", package: "swift-nio"),
                                                       .product(name: "NIOHTTP1", package: "swift-nio"),
                                                       .product(name: "NIOEmbedded", package: "swift-nio")], path: "Tests/HTTP1Tests"),
        // Server-sent events (text/event-stream) decoded chunk by chunk, for the MCP and A2A plugins.
        .target(name: "SSE", path: "Sources/SSE"),
        .testTarget(name: "SSETests", dependencies: ["SSE"], path: "Tests/SSETests"),
        // JSON-RPC messages read once, only as far as routing needs (for the MCP and A2A plugins).
        .target(name: "JSONRPC", dependencies: ["JSON"], path: "Sources/JSONRPC"),
        // Swift views of the ABI's strings and header arrays, for the host, the SDK and the fake host.
        .target(name: "ABIInterop", dependencies: ["PluginABI"], path: "Sources/ABIInterop"),
        // The Swift SDK for plugin authors (and the strict reader of their config tables).
        .target(name: "PluginKit", dependencies: ["PluginABI", "ABIInterop", "JSON"], path: "Sources/PluginKit"),
        // A fake host behind a real host table: unit tests for any plugin, without a gateway.
        .target(name: "PluginKitTesting", dependencies: ["PluginABI", "ABIInterop", "PluginKit"], path: "Sources/PluginKitTesting"),
        .executableTarget(
            name: "GatewayHost",
            dependencies: [
                "PluginABI", "ABIInterop", "CPluginLoader", "CProcessSpawn", "HTTP1", "JSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Crypto", package: "swift-crypto"),
                "XDSProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            path: "Sources/GatewayHost",
            linkerSettings: [.unsafeFlags(compactRelocations)]
        ),
        // Generated from Protos/ by scripts/generate-protos (committed; do not edit): the xDS
        // transport subset and the gateway's resource types.
        .target(name: "XDSProto", dependencies: [
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        ], path: "Sources/XDSProto"),
        // A small stdio MCP server for the quick start and the tests.
        .executableTarget(name: "DemoMCPServer", path: "examples/demo-mcp-server"),
        .testTarget(name: "GatewayHostTests", dependencies: ["GatewayHost", "PluginKit", "PluginABI", "XDSProto",
                                                  .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                                                  .product(name: "NIOEmbedded", package: "swift-nio"),
                                                  .product(name: "NIOHTTP1", package: "swift-nio")], path: "Tests/GatewayHostTests"),
        .testTarget(name: "PluginKitTests", dependencies: ["PluginKit", "PluginKitTesting", "CPluginLoader", "ABIInterop", "PluginABI"], path: "Tests/PluginKitTests"),
        .testTarget(name: "JSONRPCTests", dependencies: ["JSONRPC", "JSON", "PluginKit"], path: "Tests/JSONRPCTests"),
        // MCP federation logic that needs no host (names, lists, config, SSE): unit-tested alone.
        .target(name: "MCPCore", dependencies: ["A2ACore", "JSON", "JSONRPC", "OpenAPITools", "PluginKit", "SSE"], path: "Plugins/MCP/Core"),
        // REST operations of an OpenAPI document as MCP tools: the document read and checked,
        // tool schemas, argument validation, HTTP requests built, responses as tool results.
        .target(name: "OpenAPITools", dependencies: [
            "JSON",
            .product(name: "OpenAPIKit", package: "OpenAPIKit"),
            .product(name: "OpenAPIKit30", package: "OpenAPIKit"),
            .product(name: "OpenAPIKitCompat", package: "OpenAPIKit"),
            .product(name: "Yams", package: "Yams"),
        ], path: "Plugins/MCP/OpenAPI"),
        .testTarget(name: "OpenAPIToolsTests", dependencies: ["OpenAPITools", "JSON"], path: "Tests/OpenAPIToolsTests"),
        .testTarget(name: "MCPCoreTests", dependencies: ["MCPCore", "A2ACore", "JSON", "JSONRPC", "PluginKit"], path: "Tests/MCPCoreTests"),
        // A2A proxying logic (requests in both bindings and versions, card rewriting, task
        // ownership), no host needed.
        .target(name: "A2ACore", dependencies: ["JSON", "JSONRPC", "PluginKit", "PolicyKit", "SSE"], path: "Plugins/A2A/Core"),
        .testTarget(name: "A2ACoreTests", dependencies: ["A2ACore", "JSON"], path: "Tests/A2ACoreTests"),
        .testTarget(name: "A2APluginTests", dependencies: ["A2APlugin", "A2ACore", "JSON", "PluginKit", "PluginKitTesting"], path: "Tests/A2APluginTests"),
        .testTarget(name: "MCPPluginTests", dependencies: ["MCPPlugin", "MCPCore", "JSON", "PluginKit", "PluginKitTesting"], path: "Tests/MCPPluginTests"),
        // Policy expressions (a CEL subset), shared by RBAC and rate limits.
        .target(name: "CEL", dependencies: ["JSON"], path: "Sources/CEL"),
        .testTarget(name: "CELTests", dependencies: ["CEL"], path: "Tests/CELTests"),
        // What policy plugins share: the identity hand-off keys, the variables rules read, an LRU cache.
        .target(name: "PolicyKit", dependencies: ["CEL", "JSON", "PluginKit"], path: "Sources/PolicyKit"),
        // JWT / API-key verification (jwt-kit), no host needed.
        .target(name: "JWTAuthCore", dependencies: [
            "JSON", "PluginKit",
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Plugins/JWTAuth/Core"),
        .testTarget(name: "JWTAuthTests", dependencies: ["JWTAuthCore", "JWTAuthPlugin", "PolicyKit", "PluginKitTesting", .product(name: "JWTKit", package: "jwt-kit"),
                                                       .product(name: "CryptoExtras", package: "swift-crypto")],
                    path: "Tests/JWTAuthTests"),
        // RBAC policies and token-bucket rate limits over CEL expressions, no host needed.
        .target(name: "RBACCore", dependencies: ["CEL", "JSON", "PluginKit", "PolicyKit"], path: "Plugins/RBAC/Core"),
        .target(name: "RateLimitCore", dependencies: ["CEL", "JSON", "PluginKit", "PolicyKit"], path: "Plugins/RateLimit/Core"),
        // Access-log and span fields from CEL expressions, no host needed.
        .target(name: "AnnotateCore", dependencies: ["CEL", "PluginKit", "PolicyKit"], path: "Plugins/Annotate/Core"),
        .testTarget(name: "PolicyTests", dependencies: ["RBACCore", "RateLimitCore", "RBACPlugin", "RateLimitPlugin", "AnnotatePlugin", "AnnotateCore",
                                                     "CEL", "PolicyKit", "PluginKitTesting"],
                    path: "Tests/PolicyTests"),
    ]
        + swiftPlugin("RequireHeaderExample", path: "examples/swift-filter")
        + swiftPlugin("NoopPlugin", path: "Plugins/Noop")
        + threePartPlugin("MCP", glue: ["JSON", "JSONRPC"])
        + threePartPlugin("JWTAuth", glue: ["PolicyKit", "JSON"])
        + threePartPlugin("RBAC", glue: ["PolicyKit", "JSON"])
        + threePartPlugin("RateLimit", glue: ["PolicyKit"])
        + threePartPlugin("A2A", glue: ["JSON", "JSONRPC", "SSE"])
        + threePartPlugin("Annotate", glue: ["PolicyKit"])
        + swiftPlugin("TestFiltersPlugin", path: "Tests/Fixtures/SwiftTestFilters")
)

// swift-tools-version:6.1
// Builds protoc's Swift plugins (protoc-gen-swift, protoc-gen-grpc-swift-2) for
// scripts/generate-protos, apart from the gateway's package so that the gateway's build never
// compiles them (the generated code is committed).
import PackageDescription

let package = Package(
    name: "protoc-plugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    ],
    targets: [
        // SwiftPM needs a target of its own to build the dependencies' executables.
        .target(name: "Placeholder", path: "Placeholder"),
    ]
)

/// The gateway's version: `agentgateway --version`, and `agw_host_api.host_version` for plugins.
enum GatewayVersion {
    static let current = "0.1.0"
}

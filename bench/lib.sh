# Shared by bench/mcp.sh and bench/callgrind.sh: the security filters priced on tools/call and
# the plugin table, so both scripts measure the same configuration.

BENCH_SECRET=bench-secret-0123456789abcdefghijklmnop

# An HS256 bearer token for subject "bench" (verified once, then served from the token cache).
bench_token() {
  python3 -c '
import base64, hashlib, hmac, json, sys, time
b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
claims = {"sub": "bench", "iss": "bench", "aud": "bench", "exp": int(time.time()) + 86400}
signing_input = b64(b"{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + b64(json.dumps(claims).encode())
print(signing_input + "." + b64(hmac.new(sys.argv[1].encode(), signing_input.encode(), hashlib.sha256).digest()))
' "$BENCH_SECRET"
}

# [plugins.*] for the MCP plugin and the three security plugins of build directory $1.
bench_plugins() {
  for plugin in mcp jwt_auth rbac ratelimit; do printf '[plugins.%s]\npath = "%s/lib%s.so"\n' "$plugin" "$1" "$plugin"; done
}

# jwt_auth + rbac + ratelimit as a route's filters: the token above, one rule, a per-user bucket
# that never runs dry.
bench_security_filters() {
  cat <<TOML
[[routes.filters]]
plugin = "jwt_auth"
[routes.filters.config]
hmac_secret = "$BENCH_SECRET"
algorithms = ["HS256"]
issuer = "bench"
audiences = ["bench"]
[[routes.filters]]
plugin = "rbac"
[[routes.filters.config.rules]]
allow = 'jwt.sub == "bench" && mcp.tool.name == "echo"'
[[routes.filters]]
plugin = "ratelimit"
[[routes.filters.config.limits]]
key = ["jwt.sub"]
max_tokens = 1000000000
fill_interval = "1s"
TOML
}

"""Signs a demo token for the /team/mcp route of examples/gateway.toml (HS256 with the config's
demo secret; standard library only). Usage: python3 examples/mint-token.py SUBJECT [GROUP ...]

A real deployment verifies tokens from an identity provider (jwks_url) instead."""
import base64
import hashlib
import hmac
import json
import re
import sys
import time
from pathlib import Path

config = (Path(__file__).parent / "gateway.toml").read_text()
secret = re.search(r'^hmac_secret = "([^"]+)"', config, re.M).group(1)
subject, groups = (sys.argv[1] if len(sys.argv) > 1 else "alice"), sys.argv[2:]


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


claims = {"sub": subject, "groups": groups, "iss": "agentgateway-demo", "aud": "agentgateway-demo",
          "iat": int(time.time()), "exp": int(time.time()) + 3600}
signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
print(signing_input + "." + b64(signature))

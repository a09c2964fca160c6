"""The seed's Python client (ibauth 0.0.6, datawookie/ibkr-oauth-flow), unchanged, logging in against the
emulator for the benchmark table. Its hard-coded https://<domain> URLs and ipify lookup are pointed at the
emulator by a subclass. Usage: IBAUTH_SEED_SRC=<checkout>/src python3 peer_ibauth_seed.py URL KEY_FILE
CLIENT_ID CREDENTIAL... ; prints the median login (token, sso-sessions, ssodh/init) in ms, first one
excluded. Not part of CI."""

import os
import statistics
import sys
import time
import types

sys.path.insert(0, os.environ["IBAUTH_SEED_SRC"])
try:
    import curlify  # noqa: F401 (used by the seed only to log requests)
except ImportError:
    sys.modules["curlify"] = types.SimpleNamespace(to_curl=lambda request: "")
from ibauth.auth import IBAuth  # noqa: E402
from ibauth.util import get  # noqa: E402

base, key_file, client_id, *credentials = sys.argv[1:]


class AtEmulator(IBAuth):
    url_oauth2 = property(lambda self: f"{base}/oauth2")
    url_gateway = property(lambda self: f"{base}/gw")
    url_client_portal = property(lambda self: base)

    def _check_ip(self):
        self.IP = get(f"{base}/__emulator/ip", timeout=10).content.decode("utf8")
        return self.IP


times = []
for i, credential in enumerate(credentials):
    auth = AtEmulator(client_id, "main", credential, key_file)
    started = time.perf_counter()
    auth.get_access_token()
    auth.get_bearer_token()
    auth.ssodh_init()
    if i:
        times.append((time.perf_counter() - started) * 1000)
print(f"{statistics.median(times):.1f}")

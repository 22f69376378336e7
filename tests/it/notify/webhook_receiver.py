"""A webhook receiver as a customer would write one (docs/notices.md,
"Channels"): it checks X-Mimamori-Signature, the HMAC-SHA256 of
"{X-Mimamori-Timestamp}.{body}" keyed with the shared secret, in constant
time, and refuses a timestamp more than 300 s away. Verified requests are
appended to OUT as JSON lines. /gone answers 410; /flaky answers 503 to its
first request. Prints "ready PORT" when listening."""

import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, SECRET, OUT = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
WINDOW = 300
seen = {"flaky": 0}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/gone":
            return self.answer(410)
        if self.path == "/flaky":
            seen["flaky"] += 1
            if seen["flaky"] == 1:
                return self.answer(503)
        ts = self.headers.get("X-Mimamori-Timestamp", "")
        sig = self.headers.get("X-Mimamori-Signature", "")
        try:
            fresh = abs(time.time() - int(ts)) <= WINDOW
        except ValueError:
            fresh = False
        want = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        ok = fresh and hmac.compare_digest(want, sig)
        with open(OUT, "a") as f:
            f.write(
                json.dumps(
                    {
                        "path": self.path,
                        "verified": ok,
                        "event": self.headers.get("X-Mimamori-Event"),
                        "delivery": self.headers.get("X-Mimamori-Delivery"),
                        "content_type": self.headers.get("Content-Type"),
                        "body": json.loads(body) if ok else None,
                    }
                )
                + "\n"
            )
        self.answer(204 if ok else 401)


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("ready %d" % PORT, flush=True)
server.serve_forever()

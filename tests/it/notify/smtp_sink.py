"""A real SMTP server on loopback for the notice tests and the bench (aiosmtpd).

Every accepted message is written to OUT as NAME.eml (the bytes as received)
with NAME.json beside it (envelope sender and recipients, whether the session
was TLS and authenticated). Recipients starting with "reject" get a permanent
550. With --cert/--key the server offers STARTTLS and requires it (and AUTH
with --user/--password, only over TLS). Prints "ready PORT" when listening.
"""

import argparse
import asyncio
import json
import logging
import os
import ssl
import sys
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, out, delay):
        self.out = out
        self.delay = delay
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 <%s>: Recipient address rejected" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.n += 1
        name = "%d-%d-%d" % (time.time_ns(), os.getpid(), self.n)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
        }
        with open(os.path.join(self.out, name + ".json"), "w") as f:
            json.dump(meta, f)
        tmp = os.path.join(self.out, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
        os.rename(tmp, os.path.join(self.out, name + ".eml"))
        return "250 Message accepted"


def main():
    warnings.simplefilter("ignore")
    # aiosmtpd warns of its own deprecated attributes on every AUTH.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--delay-ms", type=float, default=0, help="wait before accepting each message")
    a = p.parse_args()
    kwargs = {}
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(a.cert, a.key)
        kwargs.update(tls_context=ctx, require_starttls=True)
    if a.user:

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login == a.user.encode()
                and auth_data.password == a.password.encode()
            )
            return AuthResult(success=ok, handled=False)

        kwargs.update(
            authenticator=authenticator, auth_required=True, auth_require_tls=True
        )
    c = Controller(
        Sink(a.out, a.delay_ms / 1000), hostname="127.0.0.1", port=a.port, server_hostname="localhost", **kwargs
    )
    c.start()
    print("ready %d" % a.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        c.stop()


if __name__ == "__main__":
    sys.exit(main())

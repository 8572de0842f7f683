# An AMQP 1.0 client written with Debian's python3-qpid-proton, driven by the interop suite
# (test/interop). One command per run; prints JSON lines, the last one the result.
#   connect URL [--ca F --cert F --key F]   attach a dynamic receiver, close
#   close URL                                BlockingConnection.close() and how long it took
#   same-name URL ADDR                       a sender and a receiver with proton's default (equal) names
#   mgmt URL                                 $management in the standard and the router's own shape
#   slow-recv URL ADDR [--credit N --stall S] grants N credits, stops reading the socket for S seconds after the
#                                            first message, then accepts everything until idle
import argparse
import json
import struct
import sys
import time

from proton import Message, SSLDomain
from proton.handlers import MessagingHandler
from proton.reactor import Container, DynamicNodeProperties
from proton.utils import BlockingConnection


def out(**kw):
    print(json.dumps(kw), flush=True)


def close_quietly(c):
    # The close handshake has a case of its own; here only the result above counts.
    try:
        c.close()
    except Exception:
        pass


def ssl_domain(a):
    if not a.ca:
        return None
    d = SSLDomain(SSLDomain.MODE_CLIENT)
    d.set_trusted_ca_db(a.ca)
    d.set_peer_authentication(SSLDomain.VERIFY_PEER, a.ca)
    if a.cert:
        d.set_credentials(a.cert, a.key, None)
    return d


def connect(a):
    c = BlockingConnection(a.url, timeout=10, ssl_domain=ssl_domain(a))
    r = c.create_receiver(None, dynamic=True)
    out(connected=True, dynamic=r.link.remote_source.address)
    c.close()
    out(done=True)


def close(a):
    c = BlockingConnection(a.url, timeout=a.timeout)
    c.create_sender("close-probe")
    t0 = time.monotonic()
    err = None
    try:
        c.close()
    except Exception as e:  # proton raises Timeout when the peer never answers the close
        err = "%s: %s" % (type(e).__name__, e)
    out(done=True, close_s=round(time.monotonic() - t0, 3), error=err)


class SameName(MessagingHandler):
    """A sender and a receiver on one connection with proton's default link names, which are equal."""

    def __init__(self, a):
        super().__init__(prefetch=10)
        self.a = a
        self.got = []
        self.sent = 0

    def on_start(self, event):
        conn = event.container.connect(self.a.url, reconnect=False)
        self.receiver = event.container.create_receiver(conn, self.a.addr)
        self.sender = event.container.create_sender(conn, self.a.addr)

    def on_sendable(self, event):
        while self.sent < 3 and self.sender.credit:
            self.sender.send(Message(body="m%d" % self.sent))
            self.sent += 1

    def on_message(self, event):
        self.got.append(event.message.body)
        if len(self.got) == 3:
            out(done=True, names=[self.sender.name, self.receiver.name], got=self.got)
            event.connection.close()

    def on_transport_error(self, event):
        out(error=str(event.transport.condition))
        event.container.stop()


def mgmt(a):
    c = BlockingConnection(a.url, timeout=10)
    reply = c.create_receiver(None, dynamic=True, credit=10)
    addr = reply.link.remote_source.address
    s = c.create_sender("$management")
    res = {}
    # The standard AMQP management shape (as skmanage / qdmanage send it).
    s.send(Message(reply_to=addr, correlation_id="std", body={"attributeNames": []},
                   properties={"operation": "QUERY", "type": "org.amqp.management", "name": "self",
                               "entityType": "org.apache.qpid.dispatch.connection"}))
    # The same with a chosen attribute list.
    s.send(Message(reply_to=addr, correlation_id="std-attrs", body={"attributeNames": ["role", "direction"]},
                   properties={"operation": "QUERY", "type": "org.amqp.management", "name": "self",
                               "entityType": "io.skupper.router.router.node"}))
    # The router's own shape: type names the entity, the body is the list.
    s.send(Message(reply_to=addr, correlation_id="own", body="", properties={"operation": "QUERY", "type": "connection"}))
    for _ in range(3):
        m = reply.receive(timeout=10)
        reply.accept()
        b = m.body
        res[m.correlation_id] = {
            "status": m.properties.get("statusCode"),
            "kind": type(b).__name__,
            "attributeNames": b.get("attributeNames") if isinstance(b, dict) else None,
            "rows": len(b["results"]) if isinstance(b, dict) and "results" in b else None,
            "rowWidths": sorted({len(r) for r in b["results"]}) if isinstance(b, dict) and "results" in b else None,
            "count": len(b) if isinstance(b, list) else None,
        }
    out(done=True, results=res)
    close_quietly(c)


class SlowReceiver(MessagingHandler):
    def __init__(self, a):
        super().__init__(prefetch=a.credit, auto_accept=False)
        self.a = a
        self.ids = []
        self.stalled = False
        self.last = time.monotonic()

    def on_start(self, event):
        conn = event.container.connect(self.a.url, reconnect=False)
        event.container.create_receiver(conn, self.a.addr)
        event.container.schedule(0.5, self)

    def on_link_opened(self, event):
        out(ready=True)

    def on_message(self, event):
        if not self.stalled:
            self.stalled = True
            out(stalled=True)
            # The event loop stops here: the socket is not read, as an application that stopped consuming.
            time.sleep(self.a.stall)
            out(resumed=True)
        body = event.message.body
        self.ids.append(struct.unpack(">Q", bytes(body[:8]))[0] if isinstance(body, (bytes, memoryview)) else -1)
        self.accept(event.delivery)
        self.last = time.monotonic()

    def on_timer_task(self, event):
        if self.stalled and time.monotonic() - self.last > self.a.idle:
            out(done=True, received=len(self.ids), ids=self.ids)
            event.container.stop()
            return
        event.container.schedule(0.5, self)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd")
    p.add_argument("url")
    p.add_argument("addr", nargs="?")
    p.add_argument("--ca")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--timeout", type=float, default=5)
    p.add_argument("--credit", type=int, default=1000000)
    p.add_argument("--stall", type=float, default=3)
    p.add_argument("--idle", type=float, default=3)
    a = p.parse_args()
    if a.cmd == "connect":
        connect(a)
    elif a.cmd == "close":
        close(a)
    elif a.cmd == "same-name":
        Container(SameName(a)).run()
    elif a.cmd == "mgmt":
        mgmt(a)
    elif a.cmd == "slow-recv":
        Container(SlowReceiver(a)).run()
    else:
        sys.exit("unknown command " + a.cmd)


if __name__ == "__main__":
    main()

"""The small service each lab instance runs: what keepalived's ``checkhaproxy`` checks.

``python -m havip.lab.service --name i1`` inside an instance's namespace serves
``GET /health`` and ``GET /`` (answering the instance's name) on TCP 8080, answers
every UDP datagram on port 7000 with ``<name> <request>`` so a client probing the VIP
learns which instance answered, and echoes every line on TCP 7000 as ``<name> <line>``
(a connection that stays open, for failovers under a live connection). UDP answers
leave from the address the request was sent to (``IP_PKTINFO``), as a service on a VIP
must: an answer from the instance's own address would not match the client's flow
(nor an EIP's translation). ``--peer-names`` answers with a name chosen by the
client's address (the lab's remote host names the gateway a probe came through).
Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HTTP_PORT = 8080
UDP_PORT = 7000
TCP_ECHO_PORT = 7000
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # <linux/in.h>; Python 3.11 does not name it
_PKTINFO = struct.Struct("I4s4s")  # struct in_pktinfo: ifindex, spec_dst, addr


def parse_peer_names(text: str) -> dict[str, str]:
    """``"100.64.1.1=i1,100.64.2.1=i2"`` -> {address: name}."""
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        addr, _, name = item.partition("=")
        if not name:
            raise ValueError(f"--peer-names: {item!r} is not ADDRESS=NAME")
        out[addr.strip()] = name.strip()
    return out


def udp_loop(name: str, sock: socket.socket, peer_names: dict[str, str]) -> None:
    sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    while True:
        data, ancdata, _flags, peer = sock.recvmsg(2048, socket.CMSG_SPACE(_PKTINFO.size))
        reply = (peer_names.get(peer[0], name) + " ").encode() + data
        local = next(
            (c[2] for c in ancdata if c[0] == socket.IPPROTO_IP and c[1] == IP_PKTINFO),
            None,
        )
        # An answer can fail (ENETUNREACH while keepalived takes the VIP away in a graceful
        # stop); that request goes unanswered, and the loop must live on: a dead loop left a
        # healthy-looking instance that never answered the client again once it was master.
        try:
            if local is None:
                sock.sendto(reply, peer)
                continue
            _ifindex, _spec_dst, addr = _PKTINFO.unpack(local[: _PKTINFO.size])
            answer_from = _PKTINFO.pack(0, addr, b"\0\0\0\0")  # leave from the address it was sent to
            sock.sendmsg([reply], [(socket.IPPROTO_IP, IP_PKTINFO, answer_from)], 0, peer)
        except OSError:
            continue


def echo_loop(name: str, listener: socket.socket) -> None:
    def serve(conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            for line in lines:
                conn.sendall(name.encode() + b" " + line)

    while True:
        conn, _peer = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--peer-names", default="", help="ADDRESS=NAME,...: answer UDP by the client's address")
    args = parser.parse_args(argv)
    name: str = args.name
    peer_names = parse_peer_names(args.peer_names)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (name + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", UDP_PORT))
    threading.Thread(target=udp_loop, args=(name, udp, peer_names), daemon=True).start()
    echo = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    echo.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    echo.bind(("0.0.0.0", TCP_ECHO_PORT))
    echo.listen(64)
    threading.Thread(target=echo_loop, args=(name, echo), daemon=True).start()
    http = ThreadingHTTPServer(("0.0.0.0", HTTP_PORT), Handler)
    http.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=http.shutdown).start())
    print(f"service {name}: http :{HTTP_PORT}, udp :{UDP_PORT}, tcp echo :{TCP_ECHO_PORT}", flush=True)
    http.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()

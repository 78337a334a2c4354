"""The small service each lab instance runs: what keepalived's ``checkhaproxy`` checks.

``python -m havip.lab.service --name i1`` inside an instance's namespace serves
``GET /health`` and ``GET /`` (answering the instance's name) on TCP 8080, and answers
every UDP datagram on port 7000 with ``<name> <request>`` so a client probing the VIP
learns which instance answered. Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HTTP_PORT = 8080
UDP_PORT = 7000


def udp_loop(name: str, sock: socket.socket) -> None:
    prefix = name.encode() + b" "
    while True:
        data, peer = sock.recvfrom(2048)
        sock.sendto(prefix + data, peer)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    name: str = args.name

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
    threading.Thread(target=udp_loop, args=(name, udp), daemon=True).start()
    http = ThreadingHTTPServer(("0.0.0.0", HTTP_PORT), Handler)
    http.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=http.shutdown).start())
    print(f"service {name}: http :{HTTP_PORT}, udp :{UDP_PORT}", flush=True)
    http.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()

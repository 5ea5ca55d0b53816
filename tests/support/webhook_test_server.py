#!/usr/bin/env python3
"""Test double of a webhook receiver, for the webhook sink tests: an HTTP/1.1 server
(python3's http.server, keep-alive) on a free loopback port that answers each POST as its
plan says and logs every request as one JSON line {n, action, path, headers, body,
client_port}.

  webhook_test_server.py --port-file F --log F [--plan A,B,...] [--cycle] [--default A]
                         [--cert cert.pem --key key.pem]

Request n (1-based) gets plan[n-1] (with --cycle the plan repeats), then --default (ok).
Actions: ok (200), a status code (e.g. 503), drop (close the connection without an
answer), slow:<ms> (wait, then 200), <status>+<seconds> (that status with Retry-After:
<seconds>), <status>+date:<seconds> (Retry-After as an HTTP-date that many seconds ahead).
Each log line also has `time`, the receive time in seconds (a monotonic clock). The port is
written to --port-file once listening.
"""
import argparse
import json
import os
import ssl
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port-file", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--plan", default="")
parser.add_argument("--cycle", action="store_true")
parser.add_argument("--default", default="ok")
parser.add_argument("--cert")
parser.add_argument("--key")
args = parser.parse_args()

plan = [a for a in args.plan.split(",") if a]
lock = threading.Lock()
count = 0
log = open(args.log, "a", encoding="utf-8")


def next_action():
    global count
    with lock:
        count += 1
        n = count
    if plan and (args.cycle or n <= len(plan)):
        return n, plan[(n - 1) % len(plan)]
    return n, args.default


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffered: the head and body of an answer leave in one write (flushed after each
    # request), not two small ones that Nagle's algorithm and delayed ACKs hold up ~40 ms.
    wbufsize = 1 << 16

    def log_message(self, *unused):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        received = time.monotonic()
        n, action = next_action()
        entry = {
            "n": n,
            "time": received,
            "action": action,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8"),
            "client_port": self.client_address[1],
        }
        with lock:
            log.write(json.dumps(entry) + "\n")
            log.flush()
        if action == "drop":
            self.close_connection = True
            return
        status = 200
        retry_after = None
        if action.startswith("slow:"):
            time.sleep(int(action[5:]) / 1000)
        elif "+" in action:
            code, wait = action.split("+", 1)
            status = int(code)
            if wait.startswith("date:"):
                retry_after = formatdate(time.time() + int(wait[5:]), usegmt=True)
            else:
                retry_after = wait
        elif action != "ok":
            status = int(action)
        reply = b'{"ok":true}' if status == 200 else b'{"error":"planned failure"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if args.cert:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
tmp = args.port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(server.server_address[1]))
os.rename(tmp, args.port_file)
server.serve_forever()

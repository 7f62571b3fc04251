#!/usr/bin/env python3
"""Start-up time of PiCloud on SQLite: from exec to a healthy /healthz.

Starts the binary `starts` times with a fresh data directory (a first
start: the database created and migrated, the bootstrap admin's password
hashed) and `starts` times on the data directory of the first (a later
start: nothing to migrate), and polls /healthz every millisecond from this
one process. bench/run.sh used to time one start with a `curl` process
every 10 ms: each `curl` took about 10 ms to start itself, so the figure
held up to 20 ms of the poller's own time.

Usage: bench/startup.py path/to/picloud starts workdir
Prints: first-median first-min first-max later-median later-min later-max (ms)
"""

import os
import socket
import statistics
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start(binary, data):
    """Milliseconds from exec to the first 200 from /healthz."""
    port = free_port()
    env = dict(
        os.environ,
        PICLOUD_LOG="warn",
        PICLOUD_ADMIN_USER="bench",
        PICLOUD_ADMIN_PASSWORD="bench-password",
        PICLOUD_DATA_DIR=data,
        PICLOUD_BIND=f"127.0.0.1:{port}",
    )
    began = time.perf_counter()
    server = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not healthy(port):
            if server.poll() is not None:
                sys.exit(f"picloud exited with {server.returncode} before it was healthy")
            if time.perf_counter() - began > 30:
                sys.exit("picloud was not healthy within 30 s")
            time.sleep(0.001)
        return (time.perf_counter() - began) * 1000
    finally:
        server.terminate()
        server.wait()


def main():
    binary, starts, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    first = [start(binary, os.path.join(work, f"startup-{i}")) for i in range(starts)]
    later = [start(binary, os.path.join(work, "startup-0")) for _ in range(starts)]
    figures = []
    for times in (first, later):
        figures += [statistics.median(times), min(times), max(times)]
    print(" ".join(str(round(f)) for f in figures))


main()

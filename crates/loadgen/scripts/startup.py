#!/usr/bin/env python3
"""Cold start and idle memory of a parley binary, as docs/benchmarks.md reports them.

Usage: startup.py PATH/TO/parley [runs]

For each run: a fresh temporary data directory (so the time includes creating the SQLite
database and applying every migration), `parley serve --listen 127.0.0.1:PORT`, and a
client that polls GET /healthz every millisecond over loopback. "Cold start" is the time
from spawning the process to the first 200. A second series starts again on the database
the first run left (the usual restart). Idle RSS is VmRSS from /proc two seconds after the
first 200, with no traffic. Only loopback is contacted; every run is bounded in time.
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def healthz_ok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as c:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return c.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def one_run(binary, data_dir, measure_rss):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_") and k != "RUST_LOG"}
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = t0 + 10
        while not healthz_ok(port):
            if time.perf_counter() > deadline or p.poll() is not None:
                raise SystemExit("parley did not answer /healthz within 10 s")
            time.sleep(0.001)
        elapsed_ms = (time.perf_counter() - t0) * 1000
        rss = None
        if measure_rss:
            time.sleep(2)
            rss = rss_kib(p.pid)
        return elapsed_ms, rss
    finally:
        p.terminate()
        p.wait(timeout=10)


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    fresh, restart, rss = [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            ms, kib = one_run(binary, d, measure_rss=True)
            fresh.append(ms)
            rss.append(kib)
            ms, _ = one_run(binary, d, measure_rss=False)
            restart.append(ms)
    size = os.path.getsize(binary)
    print(f"binary: {binary} {size} bytes ({size / 1e6:.1f} MB)")
    for name, xs in (("cold start, new database", fresh), ("cold start, existing database", restart)):
        print(f"{name}: median {statistics.median(xs):.0f} ms, min {min(xs):.0f}, max {max(xs):.0f} ({runs} runs)")
    print(f"idle RSS after start: median {statistics.median(rss) / 1024:.1f} MiB, max {max(rss) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()

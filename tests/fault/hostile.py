#!/usr/bin/env python3
"""hostile: the hostile-client part of the fault suite (tests/fault/).

Holds connections open against a running herald the way an attacker would,
and meanwhile measures a well-behaved client:

  slowloris  request heads sent one header line every few seconds, and
             heads announcing a 1 MiB body that is then sent a byte at a
             time; each reopened as soon as herald closes it
  idle       connections that send nothing; reopened likewise

spread over source addresses 127.0.0.2 and up (ATTACK_ADDRS of them, so no
single address reaches herald's per-address limit), while the client, from
127.0.0.1, opens a new connection every 100 ms and posts one event.

It prints TAP and `# ` figures and exits 1 when a check fails:
  - the client got at least 99% 2xx, with p99 latency under 100 ms
    (the issue's target; --short, the CI form, allows 250 ms, because on a
    shared 2-core machine one stall is the p99 of 200 posts)
  - herald's RSS stayed under 64 MB
  - herald closed slow connections at its deadlines (the attack had to
    reopen them), and the attack held its connections otherwise

  tests/fault/hostile.py --url http://127.0.0.1:PORT --pid PID [--short]
      [--slowloris 1000] [--idle 2000] [--seconds 20] [--p99-ms 100]
      [--tap-offset N] [--no-plan]

--short (CI): 20 s of client traffic; the default is 60 s. The attack sizes
are the issue's (1,000 slowloris + 2,000 idle) in both. Needs python3 only;
raises its own open-files limit.
"""
import argparse
import json
import resource
import selectors
import socket
import sys
import threading
import time
import urllib.parse

ATTACK_ADDRS = 30
DRIP_S = 4.0          # a slowloris sends something this often
BODY_DRIP_SHARE = 8   # one slowloris in 8 drips a body instead of a head


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return -1
    return -1


class Attack:
    """Keeps `slow` slowloris and `idle` idle connections open."""

    def __init__(self, host, port, slow, idle):
        self.host, self.port = host, port
        self.sel = selectors.DefaultSelector()
        self.want = [("slow", i) for i in range(slow)] + \
                    [("idle", i) for i in range(idle)]
        self.open = 0
        self.closed_by_server = {"slow": 0, "idle": 0}
        self.refused = 0
        self.stop = False
        self.lock = threading.Lock()

    def connect(self, kind, i):
        src = "127.0.0.%d" % (2 + i % ATTACK_ADDRS)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((src, 0))
            s.connect_ex((self.host, self.port))
        except OSError:
            s.close()
            with self.lock:
                self.refused += 1
            return None
        st = {"kind": kind, "i": i, "sock": s, "next": time.monotonic(),
              "step": 0, "body": kind == "slow" and i % BODY_DRIP_SHARE == 0}
        self.sel.register(s, selectors.EVENT_READ, st)
        with self.lock:
            self.open += 1
        return st

    def drip(self, st, now):
        """The next few bytes of a slowloris; False if the socket failed."""
        s = st["sock"]
        if st["step"] == 0:
            data = b"POST /api/v1/events HTTP/1.1\r\nHost: herald\r\n"
            if st["body"]:
                data += (b"Content-Type: application/json\r\n"
                         b"Content-Length: 1048576\r\n\r\n[")
        elif st["body"]:
            data = b" "
        else:
            data = b"X-Slow-%d: x\r\n" % st["step"]
        try:
            s.send(data)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            return False
        st["step"] += 1
        st["next"] = now + DRIP_S
        return True

    def drop(self, st, by_server):
        try:
            self.sel.unregister(st["sock"])
        except (KeyError, ValueError):
            pass
        st["sock"].close()
        with self.lock:
            self.open -= 1
            if by_server:
                self.closed_by_server[st["kind"]] += 1

    def run(self):
        live = []
        for kind, i in self.want:
            st = self.connect(kind, i)
            if st:
                live.append(st)
        while not self.stop:
            now = time.monotonic()
            for key, _ in self.sel.select(timeout=0.2):
                st = key.data
                try:
                    data = st["sock"].recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.drop(st, True)
                    st["dead"] = True
            nxt = []
            for st in live:
                if st.get("dead"):
                    new = self.connect(st["kind"], st["i"])
                    if new:
                        nxt.append(new)
                    continue
                if st["kind"] == "slow" and now >= st["next"]:
                    if not self.drip(st, now):
                        self.drop(st, True)
                        new = self.connect(st["kind"], st["i"])
                        if new:
                            nxt.append(new)
                        continue
                nxt.append(st)
            live = nxt
        for st in live:
            if not st.get("dead"):
                self.drop(st, False)


def post_once(host, port, n):
    body = json.dumps({"type": "message", "title": "well-behaved %d" % n,
                       "id": "hostile-client-%d" % n}).encode()
    req = (b"POST /api/v1/events HTTP/1.1\r\nHost: herald\r\n"
           b"Content-Type: application/json\r\nConnection: close\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    t0 = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=5,
                                      source_address=("127.0.0.1", 0)) as s:
            s.sendall(req)
            resp = b""
            while b"\r\n" not in resp:
                chunk = s.recv(4096)
                if not chunk:
                    break
                resp += chunk
        status = int(resp.split(b" ", 2)[1]) if resp else 0
    except (OSError, ValueError, IndexError):
        status = 0
    return status, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--slowloris", type=int, default=1000)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--p99-ms", type=float, help="the latency bound "
                    "(default 100 ms; 250 with --short)")
    ap.add_argument("--tap-offset", type=int, default=0)
    ap.add_argument("--no-plan", action="store_true")
    a = ap.parse_args()
    seconds = a.seconds or (20 if a.short else 60)
    u = urllib.parse.urlparse(a.url)
    host, port = u.hostname, u.port

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.slowloris + a.idle + 256
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(need, hard) if hard != resource.RLIM_INFINITY
                            else need, hard))

    rss_before = rss_kb(a.pid)
    attack = Attack(host, port, a.slowloris, a.idle)
    th = threading.Thread(target=attack.run, daemon=True)
    th.start()
    # Until the attack holds its connections (or 20 s have passed).
    want = a.slowloris + a.idle
    t_end = time.monotonic() + 20
    while time.monotonic() < t_end and attack.open < want * 0.98:
        time.sleep(0.2)
    held_at_start = attack.open

    results, rss_max, held_min = [], rss_before, held_at_start
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        status, lat = post_once(host, port, n)
        results.append((status, lat))
        n += 1
        rss_max = max(rss_max, rss_kb(a.pid))
        held_min = min(held_min, attack.open)
        time.sleep(max(0.0, 0.1 - lat))
    attack.stop = True
    th.join(timeout=10)

    ok = sum(1 for s, _ in results if 200 <= s < 300)
    lats = sorted(l for _, l in results)
    p50 = lats[len(lats) // 2] * 1000
    p99 = lats[min(len(lats) - 1, int(len(lats) * 0.99))] * 1000
    share = ok / len(results) if results else 0
    print("# hostile: attack %d slowloris (1 in %d dripping a 1 MiB body) + %d idle, "
          "from %d addresses" % (a.slowloris, BODY_DRIP_SHARE, a.idle, ATTACK_ADDRS))
    print("# hostile: attack connections held: %d at the start, at least %d during the run"
          % (held_at_start, held_min))
    print("# hostile: closed by herald and reopened: slowloris %d, idle %d; "
          "refused at connect: %d" % (attack.closed_by_server["slow"],
                                      attack.closed_by_server["idle"],
                                      attack.refused))
    print("# hostile: client: %d posts in %.0f s, %d 2xx (%.2f%%), "
          "latency p50 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (len(results), seconds, ok, share * 100, p50, p99,
             lats[-1] * 1000 if lats else 0))
    print("# hostile: herald RSS %.1f MB before, %.1f MB at most"
          % (rss_before / 1024, rss_max / 1024))

    # The target is 100 ms; the short form (CI, on a shared 2-core
    # machine where one stall is the p99 of 200 posts) allows 250.
    p99_bound = a.p99_ms or (250 if a.short else 100)
    checks = [
        (held_at_start >= want * 0.95,
         "the attack held its %d connections (%d)" % (want, held_at_start)),
        (share >= 0.99, "the well-behaved client got >= 99%% 2xx (%.2f%%)"
         % (share * 100)),
        (p99 < p99_bound, "its p99 latency is under %d ms (%.1f ms)"
         % (p99_bound, p99)),
        (0 < rss_max < 64 * 1024, "herald's RSS stayed under 64 MB (%.1f MB)"
         % (rss_max / 1024)),
        (attack.closed_by_server["slow"] > 0 or seconds < 12,
         "herald closed slowloris connections at its deadline (%d)"
         % attack.closed_by_server["slow"]),
    ]
    if not a.no_plan:
        print("1..%d" % len(checks))
    failed = 0
    for i, (good, what) in enumerate(checks, 1 + a.tap_offset):
        print("%s %d - %s" % ("ok" if good else "not ok", i, what))
        failed += not good
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

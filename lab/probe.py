#!/usr/bin/env python3
"""Traffic helper for the netc lab; runs inside a workload's namespace.

  probe.py listen PORT... [udp:PORT...]
      Accept (and close) TCP connections on every PORT, and echo every
      datagram on every udp:PORT, on all addresses, until killed. Prints
      "listening" once every port is bound.

  probe.py check [--timeout SECONDS]
      Read a JSON list of probes on stdin, run them all concurrently, print
      a JSON list of results in the same order:
        {"dst": "10.10.0.74", "proto": "tcp", "port": 80}  -> "open" | "timeout"
                                                              | "refused" | "unreachable"
        {"dst": "10.10.0.74", "proto": "udp", "port": 53}  -> "open" (echoed) | "timeout"
          (optional "sport": the source port to send from)
                                                              | "refused" | "unreachable"
        {"dst": "10.10.0.74", "proto": "icmp"}             -> "reply" | "timeout"
      A dropped packet shows as "timeout"; "refused" means the packet got
      through but nothing listened; "unreachable" means an ICMP error came back.
      A probe with "netns": NAME (a namespace in /run/netns) is sent from
      that namespace: its thread enters it before opening the socket, so
      one process (run as root) probes from many namespaces at once. Only
      "tcp" and "udp" probes can say "netns".
"""
import concurrent.futures
import ctypes
import errno
import os
import json
import socket
import subprocess
import sys
import threading


def listen(ports, udp_ports=()):
    socks = []
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(128)
        socks.append(s)

    def echo(u):
        while True:
            try:
                data, peer = u.recvfrom(2048)
                u.sendto(data, peer)
            except OSError:
                pass

    for port in udp_ports:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("0.0.0.0", port))
        threading.Thread(target=echo, args=(u,), daemon=True).start()

    def serve(s):
        while True:
            try:
                conn, _ = s.accept()
                conn.close()
            except OSError:
                pass

    for s in socks:
        threading.Thread(target=serve, args=(s,), daemon=True).start()
    print("listening", " ".join(map(str, ports)), " ".join("udp:%d" % p for p in udp_ports), flush=True)
    threading.Event().wait()


def tcp(dst, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((dst, port))
        return "open"
    except socket.timeout:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except OSError as e:
        if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "unreachable"
        if e.errno == errno.ETIMEDOUT:
            return "timeout"
        return "error: " + e.strerror
    finally:
        s.close()


def udp(dst, port, timeout, sport=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        if sport:
            # A source port of the caller's choosing: a new flow, never one
            # conntrack still remembers from an earlier probe.
            s.bind(("0.0.0.0", int(sport)))
        s.connect((dst, port))
        s.send(b"netc-probe")
        return "open" if s.recv(2048) == b"netc-probe" else "error: wrong echo"
    except socket.timeout:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except OSError as e:
        if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "unreachable"
        return "error: " + e.strerror
    finally:
        s.close()


def icmp(dst, timeout):
    r = subprocess.run(
        ["ping", "-n", "-q", "-c1", "-W", str(max(1, round(timeout))), dst],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return "reply" if r.returncode == 0 else "timeout"


CLONE_NEWNET = 0x40000000
_libc = None


def enter_netns(fd):
    """Move the calling thread (only it) into the network namespace `fd`."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


def check(timeout):
    probes = json.load(sys.stdin)
    fds = {}
    for p in probes:
        if "netns" in p and p["netns"] not in fds:
            fds[p["netns"]] = os.open("/run/netns/" + p["netns"], os.O_RDONLY)

    def run(p):
        if "netns" in p:
            if p["proto"] not in ("tcp", "udp"):
                return "error: netns only for tcp and udp"
            enter_netns(fds[p["netns"]])
        if p["proto"] == "tcp":
            return tcp(p["dst"], int(p["port"]), timeout)
        if p["proto"] == "udp":
            return udp(p["dst"], int(p["port"]), timeout, p.get("sport"))
        if p["proto"] == "icmp":
            return icmp(p["dst"], timeout)
        return "error: unknown proto " + str(p["proto"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(probes))) as ex:
        results = list(ex.map(run, probes))
    json.dump(results, sys.stdout)
    print()


def main(argv):
    if len(argv) >= 2 and argv[1] == "listen":
        listen(
            [int(p) for p in argv[2:] if not p.startswith("udp:")],
            [int(p[4:]) for p in argv[2:] if p.startswith("udp:")],
        )
    elif len(argv) >= 2 and argv[1] == "check":
        timeout = 1.5
        if len(argv) == 4 and argv[2] == "--timeout":
            timeout = float(argv[3])
        check(timeout)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""A fixed one-way delay on an Ethernet link, where the kernel has no netem.

    python3 delay-link.py <interface A> <interface B> <delay ms>

Forwards every frame that arrives on A out of B, and every frame from B out of A, each <delay ms>
after the kernel received it (its SO_TIMESTAMPNS time), in order: a two-port bridge with a delay
line, run in the namespace that holds both interfaces (scripts/bench-latency/network.ts puts it
in the middle of the user's WAN link). Frames pass with their virtio-net header (PACKET_VNET_HDR),
so that checksums left to offload (CHECKSUM_PARTIAL on veth) and GSO packets stay valid on the
other side. It asks for real-time scheduling (SCHED_FIFO; it needs little CPU) so that a busy
machine does not make the link's delay longer than asked: a link does not wait for a CPU. Prints "ready" once both sockets are bound, and on SIGTERM or SIGINT exits 0 after
one line of counts (forwarded, dropped because a send failed, frames that left more than 1 ms
late, the worst lateness in ms); SIGUSR1 prints the same line and goes on.
"""

import collections
import os
import select
import signal
import socket
import struct
import sys
import time


class Stopped(Exception):
    pass

SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_IGNORE_OUTGOING = 23
SO_TIMESTAMPNS = 35
ETH_P_ALL = 0x0003
# A GSO frame can hold up to 64 KiB of payload behind its headers and the virtio-net header.
MAX_FRAME = 65536 + 256


def open_port(name):
    # Protocol 0 until bound: no frame from another interface is read before bind().
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    # Not our own sends back (the kernel shows a packet socket the frames leaving its interface).
    s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((name, ETH_P_ALL))
    s.setblocking(False)
    return s


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: delay-link.py <interface A> <interface B> <delay ms>")
    a, b = open_port(sys.argv[1]), open_port(sys.argv[2])
    delay = float(sys.argv[3]) / 1000.0
    # Per direction: (time due, frame) in arrival order; a fixed delay keeps each queue sorted.
    queues = {a.fileno(): collections.deque(), b.fileno(): collections.deque()}
    out = {a.fileno(): b, b.fileno(): a}
    stats = {"forwarded": 0, "dropped": 0, "late": 0, "worst_late_ms": 0.0}

    def stop(_sig, _frame):
        # Raised, not flagged: the interpreter retries an interrupted poll() by itself (PEP 475).
        raise Stopped()

    def counts(_sig=None, _frame=None):
        print(
            "forwarded %d dropped %d late %d worst_late_ms %.2f"
            % (stats["forwarded"], stats["dropped"], stats["late"], stats["worst_late_ms"]),
            flush=True,
        )

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, counts)
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        policy = "SCHED_FIFO"
    except OSError as e:
        policy = "SCHED_OTHER (%s)" % e.strerror
    socks = {a.fileno(): a, b.fileno(): b}
    cmsg_space = socket.CMSG_SPACE(16)
    print("ready", policy, flush=True)
    try:
        forward(socks, queues, out, delay, cmsg_space, stats)
    except Stopped:
        pass
    counts()


def forward(socks, queues, out, delay, cmsg_space, stats):
    fds = list(socks)
    while True:
        heads = [q[0][0] for q in queues.values() if q]
        # select(), not epoll: its timeout has microseconds, epoll's whole milliseconds.
        timeout = None if not heads else max(0.0, min(heads) - time.time())
        readable, _, _ = select.select(fds, [], [], timeout)
        for fd in readable:
            s = socks[fd]
            q = queues[fd]
            while True:
                try:
                    data, anc, _flags, _addr = s.recvmsg(MAX_FRAME, cmsg_space)
                except BlockingIOError:
                    break
                t = time.time()
                for level, kind, value in anc:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                        sec, nsec = struct.unpack("qq", value[:16])
                        t = sec + nsec / 1e9
                q.append((t + delay, data))
        t = time.time()
        for fd, q in queues.items():
            while q and q[0][0] <= t:
                due, data = q.popleft()
                late = (t - due) * 1000.0
                if late > 1.0:
                    stats["late"] += 1
                stats["worst_late_ms"] = max(stats["worst_late_ms"], late)
                try:
                    out[fd].send(data)
                    stats["forwarded"] += 1
                except OSError:
                    stats["dropped"] += 1


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The secure transport and zstd, measured (docs/security/secure-transport.md).

usage: python3 bench/secure/run.py [--link] [--runs N] [--jobs N] [--out FILE] [--auth-only]

1. Builds the release binaries (distcc, distccd, distcc-keygen) and prepares the lua workload.
2. For each mode (plain, lzo, zstd, secure+lzo, secure+zstd): `make -jN` of lua through our
   client and daemon, every unit remote (DISTCC_FALLBACK=0), through a counting relay
   (bench/secure/relay.py): wall time, the master's CPU (user+sys of make and everything it
   ran: cpp and the client) and bytes on the wire each way.
3. The cost of authentication per job: 60 sequential compiles of a one-line unit, plain and
   `,secure`, straight to the daemon; the difference per job.
4. With --link (root): the same on a simulated 100 Mbit/s link with 20 ms round trip: two
   network namespaces joined by a veth pair with tc tbf (100mbit) on both ends, the client's
   requests delayed 20 ms by the relay (this kernel has no netem).

Prints markdown tables (and writes them to --out, default /tmp/secure-bench.md).
"""
import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
RELAY = os.path.join(ROOT, "bench", "secure", "relay.py")
MODES = [
    ("plain", ""),
    ("lzo", ",lzo"),
    ("zstd", ",zstd"),
    ("secure,lzo", ",secure,lzo"),
    ("secure,zstd", ",secure,zstd"),
]
NS_M, NS_H = "dccsec-m", "dccsec-h"
ADDR_M, ADDR_H = "10.3.250.1", "10.3.250.2"


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(host, port, ns=None, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        cmd = ["python3", "-c", f"import socket;socket.create_connection(('{host}',{port}),1)"]
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        if subprocess.run(cmd, stderr=subprocess.DEVNULL).returncode == 0:
            return
        time.sleep(0.1)
    sys.exit(f"nothing listens on {host}:{port}")


class World:
    def __init__(self, args):
        self.args = args
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        sh("cargo", "build", "--release", "-q", "-p", "dcc-client", "-p", "dcc-server",
           "-p", "dcc-secure", "--bins", cwd=ROOT)
        rel = os.path.join(target, "release")
        self.distcc = os.path.join(rel, "distcc")
        self.distccd = os.path.join(rel, "distccd")
        self.keygen = os.path.join(rel, "distcc-keygen")
        self.dir = tempfile.mkdtemp(prefix="dcc-secure-bench-")
        os.chmod(self.dir, 0o755)
        for d in ("dd", "tmp", "logs", "wl", "ctmp"):
            os.makedirs(os.path.join(self.dir, d))
        for d in ("tmp", "logs"):
            os.chmod(os.path.join(self.dir, d), 0o1777)
        for n in ("gcc", "cc", "x86_64-linux-gnu-gcc"):
            os.symlink("/usr/bin/distcc", os.path.join(self.dir, "wl", n))
        cache = os.environ.get("DISTCC_RS_WORKLOAD_CACHE", os.path.join(target, "workloads"))
        self.lua = os.path.join(cache, "lua")
        if not os.path.exists(os.path.join(self.lua, "Makefile")):
            sh("bash", os.path.join(ROOT, "scripts", "workload.sh"), "lua",
               self.lua)
        self.units = sum(1 for l in open(os.path.join(self.lua, "Makefile"))
                         if ": $(SRC)/" in l)
        sh(self.keygen, "-f", self.p("host.key"), "-C", "bench-helper",
           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = subprocess.run([self.keygen, "-f", self.p("dd/client.key"), "-C", "bench"],
                             check=True, capture_output=True, text=True).stdout
        with open(self.p("authorized_keys"), "w") as f:
            f.write(out)
        self.host_pub = open(self.p("host.key.pub")).read().strip()
        with open(self.p("tiny.c"), "w") as f:
            f.write("int tiny(int x) { return x + 1; }\n")

    def p(self, rel):
        return os.path.join(self.dir, rel)

    def daemon(self, listen, port, allow, ns=None):
        cmd = [self.distccd, "--no-detach", "--daemon", "--listen", listen, "--port", str(port),
               "--allow", allow, "--jobs", str(self.args.jobs), "--log-file",
               self.p(f"logs/d-{port}.log"), "--auth-keys", self.p("authorized_keys"),
               "--host-key", self.p("host.key")]
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "TMPDIR": self.p("tmp"),
               "DISTCC_RS_WHITELIST_DIR": self.p("wl")}
        proc = subprocess.Popen(cmd, env=env)
        wait_port(listen, port, ns)
        return proc

    def relay(self, port, target, tport, delay_ms, ns=None):
        count = self.p(f"count-{port}")
        if os.path.exists(count):
            os.unlink(count)
        cmd = ["python3", RELAY, str(port), target, str(tport), str(delay_ms), count]
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        proc = subprocess.Popen(cmd)
        wait_port("127.0.0.1", port, ns)
        return proc, count

    def know(self, addr):
        with open(self.p("dd/known_hosts"), "w") as f:
            f.write(f"{addr} {self.host_pub}\n")

    def env(self, hosts):
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.dir,
                "DISTCC_DIR": self.p("dd"), "TMPDIR": self.p("ctmp"),
                "DISTCC_HOSTS": hosts, "DISTCC_FALLBACK": "0", "DISTCC_BACKOFF_PERIOD": "0"}

    def build(self, hosts, ns=None):
        """One make of lua: (wall s, master CPU s)."""
        bdir = self.p("build")
        shutil.rmtree(bdir, ignore_errors=True)
        os.makedirs(bdir)
        cmd = ["make", "-s", "-C", bdir, "-f", os.path.join(self.lua, "Makefile"),
               f"-j{self.args.jobs}", f"CC={self.distcc} gcc"]
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=self.env(hosts), capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            sys.exit(f"build via {hosts} failed:\n{r.stderr[-3000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu

    def tiny_jobs(self, hosts, n, ns=None):
        """(wall s, master CPU s) per sequential compile of tiny.c."""
        cmd = [self.distcc, "gcc", "-c", self.p("tiny.c"), "-o", self.p("tiny.o")]
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        env = self.env(hosts)
        for _ in range(3):
            sh(*cmd, env=env)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        for _ in range(n):
            sh(*cmd, env=env)
        wall = (time.perf_counter() - t0) / n
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu / n


def read_count(path):
    try:
        up, down = open(path).read().split()
        return int(up), int(down)
    except (OSError, ValueError):
        return 0, 0


def measure(w, name, daemon_addr, relay_ns, delay_ms, out):
    host, port = daemon_addr
    out.append(f"\n### lua, {name} (make -j{w.args.jobs}, {w.units} units, "
               f"median of {w.args.runs} run(s))\n")
    out.append("| mode | wall s | master CPU s | bytes up | bytes down | up+down vs lzo |")
    out.append("|---|---|---|---|---|---|")
    rows = {}
    for mode, opts in MODES:
        samples = []
        for _ in range(w.args.runs):
            rport = free_port()
            relay, count = w.relay(rport, host, port, delay_ms, relay_ns)
            w.know(f"127.0.0.1:{rport}")
            try:
                wall, cpu = w.build(f"127.0.0.1:{rport}/{w.args.jobs}{opts}", relay_ns)
            finally:
                relay.terminate()
                relay.wait()
            up, down = read_count(count)
            samples.append((wall, cpu, up, down))
        samples.sort()
        rows[mode] = samples[len(samples) // 2]
    base = rows["lzo"][2] + rows["lzo"][3]
    for mode, _ in MODES:
        wall, cpu, up, down = rows[mode]
        out.append(f"| {mode} | {wall:.2f} | {cpu:.2f} | {up:,} | {down:,} | "
                   f"{(up + down) / base:.2f} |")
    print("\n".join(out[-(len(MODES) + 3):]), flush=True)
    return rows


def auth_cost(w, name, addr, ns, out, n=60):
    """Plain and secure alternate in rounds, so a change in the machine's load hits both."""
    w.know(addr)
    plain, secure = [], []
    for _ in range(w.args.runs):
        plain.append(w.tiny_jobs(f"{addr}", n, ns))
        secure.append(w.tiny_jobs(f"{addr},secure", n, ns))
    plain.sort()
    secure.sort()
    (pw, pc), (sw, sc) = plain[len(plain) // 2], secure[len(secure) // 2]
    out.append(f"\n### cost of authentication per job, {name} ({n} sequential one-line "
               f"compiles, median of {w.args.runs} rounds)\n")
    out.append("| | plain | secure | difference |")
    out.append("|---|---|---|---|")
    out.append(f"| wall ms/job | {pw * 1000:.2f} | {sw * 1000:.2f} | {(sw - pw) * 1000:.2f} |")
    out.append(f"| master CPU ms/job | {pc * 1000:.2f} | {sc * 1000:.2f} | "
               f"{(sc - pc) * 1000:.2f} |")
    print("\n".join(out[-5:]), flush=True)


def netns_up():
    netns_down()
    sh("ip", "netns", "add", NS_M)
    sh("ip", "netns", "add", NS_H)
    sh("ip", "link", "add", "dccsec-a", "type", "veth", "peer", "name", "dccsec-b")
    sh("ip", "link", "set", "dccsec-a", "netns", NS_M)
    sh("ip", "link", "set", "dccsec-b", "netns", NS_H)
    for ns, dev, addr in ((NS_M, "dccsec-a", ADDR_M), (NS_H, "dccsec-b", ADDR_H)):
        sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", "100mbit",
           "burst", "32kb", "latency", "50ms")


def netns_down():
    for ns in (NS_M, NS_H):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--link", action="store_true", help="also the 100 Mbit/s, 20 ms link (root)")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--out", default="/tmp/secure-bench.md")
    ap.add_argument("--auth-only", action="store_true",
                    help="only the per-job cost of authentication, on loopback")
    args = ap.parse_args()
    w = World(args)
    out = [f"secure transport benchmark, {time.strftime('%Y-%m-%d')}, "
           f"{os.cpu_count()} CPUs"]
    procs = []
    try:
        port = free_port()
        procs.append(w.daemon("127.0.0.1", port, "127.0.0.1"))
        if not args.auth_only:
            measure(w, "loopback", ("127.0.0.1", port), None, 0, out)
        auth_cost(w, "loopback", f"127.0.0.1:{port}", None, out)
        if args.link:
            netns_up()
            procs.append(w.daemon(ADDR_H, 3632, "10.3.250.0/24", NS_H))
            measure(w, "100 Mbit/s tbf + 20 ms relay delay", (ADDR_H, 3632), NS_M, 20, out)
            rport = free_port()
            relay, _ = w.relay(rport, ADDR_H, 3632, 20, NS_M)
            procs.append(relay)
            auth_cost(w, "100 Mbit/s + 20 ms", f"127.0.0.1:{rport}", NS_M, out)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if args.link:
            netns_down()
        shutil.rmtree(w.dir, ignore_errors=True)
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()

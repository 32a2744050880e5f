"""Measure hoist-agent's memory and CPU while a command runs.

Usage: measure_agent.py PATH/TO/hoist-agent [SECONDS]

Runs the agent against the fake hoistd on loopback with the default
heartbeat interval (2000 ms) and train_stub.py as the command, which writes
a metrics line and an output line every 0.1 s and a checkpoint every 5 s.
Samples VmRSS, RssAnon (private memory) and RssFile (pages of the
executable and of shared libraries) from /proc/<pid>/status every 0.5 s
and prints their maximum and median, and the agent's CPU time (utime +
stime from /proc/<pid>/stat) over the run as a share of one core.  Not a
test: it prints numbers for docs/agent.md.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fake_orchestrator import FakeOrchestrator  # noqa: E402


def rss_kib(pid):
    """Return (VmRSS, RssAnon, RssFile) of pid in KiB."""
    values = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile"):
                values[name] = int(rest.split()[0])
    return (values.get("VmRSS", 0), values.get("RssAnon", 0),
            values.get("RssFile", 0))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5), counted from 1.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    agent = os.path.abspath(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    steps = int(seconds / 0.1)

    tmp = tempfile.mkdtemp(prefix="hoist-agent-measure-")
    token = "measure-token"
    assignment = {
        "job_id": "j-measure", "attempt": 1,
        "command": ["/usr/bin/python3", os.path.join(HERE, "train_stub.py"),
                    "--steps", str(steps), "--sleep", "0.1",
                    "--checkpoint-every", "50", "--print-every", "1"],
        "workdir": tmp, "env": {}, "grace_seconds": 20,
        "checkpoint_interval_seconds": 5, "heartbeat_interval_ms": 2000,
        "storage_url": "file://" + os.path.join(tmp, "artifacts"),
        "resume": None,
    }

    fake = FakeOrchestrator(token, assignment).start()
    env = dict(os.environ, HOIST_ORCHESTRATOR_URL=fake.url,
               HOIST_AGENT_TOKEN=token,
               HOIST_AGENT_WORKDIR=os.path.join(tmp, "agent"))
    proc = subprocess.Popen([agent], env=env, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    samples = []
    cpu = 0.0
    try:
        while proc.poll() is None:
            try:
                samples.append(rss_kib(proc.pid))
                cpu = cpu_seconds(proc.pid)
            except (FileNotFoundError, ProcessLookupError, IndexError):
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        proc.wait(60)
    finally:
        fake.close()
        shutil.rmtree(tmp, ignore_errors=True)

    samples = [s for s in samples if s[0] > 0]
    print("agent exit code: %d" % proc.returncode)
    print("run time: %.1f s, heartbeats: %d, checkpoints committed: %d, "
          "log bytes: %d" % (elapsed, fake.heartbeats,
                             len(fake.bodies("/v1/agent/checkpoints")),
                             len(fake.log)))
    for index, name in enumerate(("VmRSS", "RssAnon", "RssFile")):
        values = sorted(s[index] for s in samples)
        print("%s: max %d KiB, median %d KiB (%d samples)"
              % (name, values[-1], values[len(values) // 2], len(values)))
    print("CPU: %.2f s user+system over %.1f s = %.2f%% of one core"
          % (cpu, elapsed, 100.0 * cpu / elapsed))


if __name__ == "__main__":
    main()

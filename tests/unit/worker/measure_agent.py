"""Measure hoist-agent's memory and CPU, and hoist-transfer's, under the
real hoistd with the example job.

Usage: measure_agent.py BUILD_DIR [--seconds 20] [--checkpoint small|large]
                         [--agent PATH]

Starts hoistd from BUILD_DIR on a free loopback port with its default
intervals (heartbeats every 2000 ms) and the local provider, and submits
examples/charlm/train.py:

  small  the default model: a checkpoint of about 250 KB every 125 steps
         (--step-delay 0.04, so every 5 s)
  large  --embedding 1000 --hidden 2800 --batch 16: a checkpoint of about
         204 MB every 10 steps (about 5 s on a 2-core AMD EPYC)

Once the job runs, it samples VmRSS, RssAnon (private memory) and RssFile
(pages of the executable and shared libraries) of hoist-agent from
/proc/<pid>/status every 0.5 s for SECONDS, and the agent's CPU time
(utime + stime from /proc/<pid>/stat) over that window.

hoist-transfer is measured apart from the agent: hoistd starts a copy of
hoist-agent from a temporary folder whose hoist-transfer is a wrapper.  The
wrapper runs the real hoist-transfer as its child and records the peak
VmRSS (ru_maxrss of getrusage), the peak RssAnon (sampled every 5 ms), the
CPU time and the duration of every transfer.

--agent measures another hoist-agent binary (default: the one in
BUILD_DIR), such as one built from an older commit.

Not a test: it prints numbers for docs/benchmarks.md.  It needs
/usr/bin/python3 with numpy and /usr/share/dict/words, like the e2e tests.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))

# Runs the real hoist-transfer as a child and appends one line per transfer
# to LOG: op, step, bytes of the folder, seconds, peak VmRSS KiB, peak
# sampled RssAnon KiB, user and system CPU seconds, exit status.
TRANSFER_WRAPPER = """#!/usr/bin/python3
import json, os, resource, subprocess, sys, time
REAL = %(real)r
LOG = %(log)r
line = sys.stdin.buffer.readline()
request = json.loads(line)
size = 0
for root, _, files in os.walk(request.get("dir") or "/nonexistent"):
    size += sum(os.path.getsize(os.path.join(root, f)) for f in files)
r, w = os.pipe()
os.write(w, line)
os.close(w)
started = time.monotonic()
proc = subprocess.Popen([REAL], stdin=r)
os.close(r)
peak_anon = 0
while proc.poll() is None:
    try:
        with open("/proc/%%d/status" %% proc.pid) as f:
            for entry in f:
                if entry.startswith("RssAnon:"):
                    peak_anon = max(peak_anon, int(entry.split()[1]))
    except OSError:
        pass
    time.sleep(0.005)
seconds = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(LOG, "a") as f:
    f.write("%%s %%s %%d %%.3f %%d %%d %%.3f %%.3f %%d\\n" %% (
        request["op"], request.get("step"), size, seconds, usage.ru_maxrss,
        peak_anon, usage.ru_utime, usage.ru_stime, proc.returncode))
sys.exit(proc.returncode)
"""

MODELS = {
    "small": ["--steps", "100000", "--step-delay", "0.04",
              "--ckpt-every", "125"],
    "large": ["--steps", "100000", "--embedding", "1000", "--hidden",
              "2800", "--batch", "16", "--ckpt-every", "10"],
}


def status_kib(pid):
    """Returns (VmRSS, RssAnon, RssFile) of pid in KiB."""
    values = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile"):
                values[name] = int(rest.split()[0])
    return values["VmRSS"], values["RssAnon"], values["RssFile"]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of proc(5), counted from 1.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--checkpoint", choices=sorted(MODELS),
                        default="small")
    parser.add_argument("--agent", help="hoist-agent to measure")
    args = parser.parse_args()

    os.environ["HOIST_BUILD_DIR"] = os.path.abspath(args.build_dir)
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "e2e"))
    import harness  # noqa: E402  (reads HOIST_BUILD_DIR when imported)

    worker_dir = os.path.join(harness.BUILD_DIR, "src", "worker")
    scratch = tempfile.mkdtemp(prefix="hoist-measure-")
    bin_dir = os.path.join(scratch, "bin")
    os.makedirs(bin_dir)
    agent = os.path.join(bin_dir, "hoist-agent")
    shutil.copy(args.agent or os.path.join(worker_dir, "hoist-agent"), agent)
    transfer_log = os.path.join(scratch, "transfers.log")
    with open(os.path.join(bin_dir, "hoist-transfer"), "w") as f:
        f.write(TRANSFER_WRAPPER % {
            "real": os.path.join(worker_dir, "hoist-transfer"),
            "log": transfer_log})
    os.chmod(os.path.join(bin_dir, "hoist-transfer"), 0o755)

    class MeasuredHoist(harness.Hoist):
        """hoistd with its default intervals instead of the tests' ones."""

        def start(self):
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [harness.HOISTD, "--home", self.home, "--listen",
                     "127.0.0.1:%d" % self.port, "--agent-path", agent],
                    stdout=log, stderr=log, env=self.env)
            harness.wait_for(self.healthy, 15, "hoistd to answer")

    hoist = MeasuredHoist(None)
    try:
        hoist.start()
        job_file = os.path.join(scratch, "measure.yaml")
        command = ["/usr/bin/python3", "train.py"] + MODELS[args.checkpoint]
        with open(job_file, "w") as f:
            f.write("name: measure-agent\nprofile: dev-test\n"
                    "workdir: %s\ncommand: [%s]\n"
                    "env: {PYTHONUNBUFFERED: '1'}\n"
                    "checkpoint: {interval: 30s, keep: 3}\ngrace: 20s\n"
                    % (os.path.join(SOURCE_DIR, "examples", "charlm"),
                       ", ".join("'%s'" % arg for arg in command)))
        job_id = hoist.cli_json("run", job_file, "--detach")["id"]
        harness.wait_for(lambda: hoist.job(job_id)["state"] == "running",
                         120, "the job to run", interval=0.2)
        pid = harness.wait_for(
            lambda: next((p for p in harness.processes_with_env(
                "HOIST_JOB_ID", job_id)
                if harness.process_name(p) == "hoist-agent"), None),
            30, "the agent process")

        samples = []
        cpu_start = cpu_seconds(pid)
        started = time.monotonic()
        while time.monotonic() - started < args.seconds:
            samples.append(status_kib(pid))
            time.sleep(0.5)
        cpu = cpu_seconds(pid) - cpu_start
        elapsed = time.monotonic() - started
        job = hoist.job(job_id)
        hoist.cli("cancel", job_id)
    finally:
        hoist.cleanup()

    print("model: %s (%s)" % (args.checkpoint, " ".join(command[1:])))
    print("window: %.1f s, %d samples, job at step %s, %d checkpoints "
          "committed" % (elapsed, len(samples), job.get("last_step"),
                         len(job.get("checkpoints") or [])))
    for index, name in enumerate(("VmRSS", "RssAnon", "RssFile")):
        values = [s[index] for s in samples]
        print("hoist-agent %s: max %d KiB, median %d KiB"
              % (name, max(values), statistics.median(values)))
    print("hoist-agent CPU: %.2f s over %.1f s = %.2f%% of one core"
          % (cpu, elapsed, 100.0 * cpu / elapsed))
    try:
        with open(transfer_log) as f:
            transfers = [line.split() for line in f]
    except FileNotFoundError:
        transfers = []
    for op, step, size, seconds, maxrss, anon, user, system, code in \
            transfers:
        print("hoist-transfer %s step %s: %.1f MB in %s s, peak VmRSS %s "
              "KiB, peak RssAnon %s KiB, CPU %.2f s (user %s, system %s), "
              "exit %s" % (op, step, int(size) / 1e6, seconds, maxrss,
                           anon, float(user) + float(system), user, system,
                           code))
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

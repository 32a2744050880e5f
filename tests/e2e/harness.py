"""Real-process harness for the end-to-end tests.

Each test gets its own HOIST_HOME, a hoistd started from the build tree on
a free loopback port with short intervals, and runs the hoist CLI against
it.  Nothing here is mocked: the agents, the local provider's instances and
the training job are real processes.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("HOIST_BUILD_DIR",
                           os.path.join(SOURCE_DIR, "build"))
HOISTD = os.path.join(BUILD_DIR, "src", "orchestrator", "hoistd")
HOIST = os.path.join(BUILD_DIR, "src", "cli", "hoist")
PYTHON = "/usr/bin/python3"

# Short intervals keep a test to seconds; production defaults are longer.
FAST_SETTINGS = [
    "--tick-ms", "200",
    "--heartbeat-interval-ms", "300",
    "--heartbeat-timeout-ms", "2500",
    "--hung-timeout-ms", "20000",
    "--start-timeout-ms", "30000",
    "--retry-delay-ms", "300",
]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout, what, interval=0.1):
    """Polls predicate until it returns a true value, or fails the test."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0f s waiting for %s (last: %r)"
                         % (timeout, what, last))


def processes_with_env(name, value):
    """Returns the pids whose environment holds name=value."""
    needle = ("%s=%s" % (name, value)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env:
            found.append(int(entry))
    return found


def all_pids():
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def session_of(pid):
    """Returns the session id of pid, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[3])


def process_name(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


class Hoist:
    """A hoistd in its own home folder, plus the CLI pointed at it."""

    def __init__(self, test, extra_args=()):
        self.test = test
        self.home = tempfile.mkdtemp(prefix="hoist-e2e-")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = os.path.join(self.home, "hoistd.log")
        self.env = dict(os.environ)
        self.env.update({
            "HOIST_HOME": self.home,
            "HOIST_URL": self.url,
            "HOIST_CONFIG_DIR": os.path.join(SOURCE_DIR, "config"),
        })

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [HOISTD, "--home", self.home,
             "--listen", "127.0.0.1:%d" % self.port] + FAST_SETTINGS +
            self.extra_args,
            stdout=log, stderr=log, env=self.env)
        log.close()
        wait_for(self.healthy, 15, "hoistd to answer /v1/health")

    def healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError("hoistd exited with %s; log:\n%s"
                                 % (self.proc.returncode, self.log()))
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.5):
                return True
        except OSError:
            return False

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def instance_processes(self):
        """Returns every pid in the sessions of this hoistd's agents."""
        sessions = {session_of(pid) for pid in
                    processes_with_env("HOIST_ORCHESTRATOR_URL", self.url)}
        sessions.discard(None)
        return [pid for pid in all_pids() if session_of(pid) in sessions]

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cli(self, *args, check=True, timeout=60):
        proc = subprocess.run([HOIST] + list(args), env=self.env,
                              capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(
                "hoist %s exited %d\nstdout: %s\nstderr: %s"
                % (" ".join(args), proc.returncode, proc.stdout,
                   proc.stderr))
        return proc

    def cli_json(self, *args):
        return json.loads(self.cli(*args, "--json").stdout)

    def job(self, job_id):
        return self.cli_json("show", job_id)

    def instances(self):
        return self.cli_json("instances")["instances"]

    def cleanup(self):
        self.stop()
        # Instances outlive hoistd by design; end whatever a failed test
        # left behind so that it cannot disturb the next one.
        for pid in self.instance_processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if os.environ.get("HOIST_KEEP_TEST_HOME"):
            return
        shutil.rmtree(self.home, ignore_errors=True)


def write_job(folder, name, steps, step_delay, ckpt_every, grace="8s",
              max_failures=2):
    """Writes a job file that runs the example model slowly enough to
    be interrupted part-way."""
    example = os.path.join(SOURCE_DIR, "examples", "charlm")
    path = os.path.join(folder, name + ".yaml")
    with open(path, "w") as f:
        f.write(
            "name: %s\n"
            "profile: dev-test\n"
            "workdir: %s\n"
            "command: [%s, train.py, --steps, '%d', --ckpt-every, '%d',"
            " --step-delay, '%s', --seed, '7']\n"
            "checkpoint: {interval: 30s, keep: 3}\n"
            "grace: %s\n"
            "retry: {max_failures: %d, max_attempts: 20}\n"
            % (name, example, PYTHON, steps, ckpt_every, step_delay, grace,
               max_failures))
    return path


LOSS_LINE = re.compile(r"step[ =:]+(\d+)\b.*?loss[ =:]+([0-9]+\.[0-9]+)")


def loss_curve(text):
    """Returns [(step, loss)] from a training log."""
    return [(int(m.group(1)), float(m.group(2)))
            for m in LOSS_LINE.finditer(text)]


class HoistTestCase(unittest.TestCase):
    def start_hoist(self, extra_args=()):
        hoist = Hoist(self, extra_args)
        self.addCleanup(hoist.cleanup)
        hoist.start()
        return hoist


# --- hoistd on the vast provider against "hoist sim" ---------------------

# Instances boot in two seconds and a held ("timeout") reply outlasts the
# provider's request timeout by a little, so faults cost seconds, not the
# minutes they cost on Vast.ai.
SIM_FAST_SETTINGS = [
    "--boot-delay", "1",
    "--load-delay", "1",
    "--kill-grace", "5",
    "--slow-seconds", "1",
    "--hold-seconds", "4",
]
VAST_FAST_SETTINGS = [
    "--vast-poll-ms", "300",
    "--vast-timeout-ms", "2500",
    "--vast-image", "hoist-worker:e2e",
]


class Simulator:
    """A "hoist sim" on a free loopback port with its admin API."""

    def __init__(self, extra_args=()):
        self.home = tempfile.mkdtemp(prefix="hoist-e2e-sim-")
        self.api_key = "e2e-" + os.urandom(8).hex()
        self.extra_args = list(extra_args)
        self.url = None
        self.proc = None
        self.out_path = os.path.join(self.home, "sim.out")
        self.log_path = os.path.join(self.home, "sim.log")

    def start(self):
        with open(self.out_path, "wb") as out, \
                open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [HOIST, "sim", "--listen", "127.0.0.1:0",
                 "--api-key", self.api_key,
                 "--state-dir", os.path.join(self.home, "instances")] +
                SIM_FAST_SETTINGS + self.extra_args,
                stdout=out, stderr=log)
        self.url = wait_for(self.listening_url, 15,
                            "hoist sim to print its URL")

    def listening_url(self):
        if self.proc.poll() is not None:
            raise AssertionError("hoist sim exited with %s; log:\n%s"
                                 % (self.proc.returncode, self.log()))
        with open(self.out_path, errors="replace") as f:
            match = re.search(r"listening on (http://\S+)", f.read())
        return match.group(1) if match else None

    def admin(self, method, path, body=None):
        """Calls the admin API and returns the decoded JSON reply."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Authorization": "Bearer " + self.api_key,
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())

    def state(self):
        return self.admin("GET", "/admin/state")

    def event(self, name, **fields):
        fields["event"] = name
        return self.admin("POST", "/admin/events", fields)

    def set_faults(self, **fields):
        return self.admin("POST", "/admin/faults", fields)

    def instances(self, label_part=""):
        """Returns every instance record whose label contains label_part,
        destroyed ones too, by id."""
        return {inst["id"]: inst for inst in self.state()["instances"]
                if label_part in (inst["label"] or "")}

    def live_instances(self, label_part=""):
        return [inst for inst in self.instances(label_part).values()
                if inst["actual_status"] != "destroyed"]

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def cleanup(self):
        self.stop()
        if os.environ.get("HOIST_KEEP_TEST_HOME"):
            return
        shutil.rmtree(self.home, ignore_errors=True)


class VastHoistTestCase(HoistTestCase):
    """Runs hoistd with --provider vast against its own simulator."""

    def start_sim(self, extra_args=()):
        sim = Simulator(extra_args)
        self.addCleanup(sim.cleanup)
        sim.start()
        return sim

    def start_vast_hoist(self, sim, extra_args=()):
        hoist = Hoist(self, ["--provider", "vast", "--vast-url", sim.url] +
                      VAST_FAST_SETTINGS + list(extra_args))
        hoist.env["VAST_API_KEY"] = sim.api_key
        self.addCleanup(hoist.cleanup)
        hoist.start()
        return hoist

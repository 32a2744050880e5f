"""End-to-end tests of hoist-agent against a fake hoistd on loopback.

Usage: test_agent_e2e.py PATH/TO/hoist-agent

Each test starts the real agent with a file:// artifact store in a
temporary folder and tests/unit/worker/train_stub.py as the command.  The
agent finds hoist-transfer next to itself; the tests of slow transfers put
a wrapper that delays each upload first in HOIST_BIN_DIR.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fake_orchestrator import FakeOrchestrator  # noqa: E402

AGENT = None
TOKEN = "test-token-5f2a9c"
STUB = os.path.join(HERE, "train_stub.py")

# Stands in for hoist-transfer on a slow store: it records each transfer
# and whether it can see the agent's token, waits SLOW_TRANSFER_SECONDS
# before an upload, then runs the real program with the same request.
SLOW_TRANSFER = """#!/usr/bin/python3
import json, os, sys, time
line = sys.stdin.buffer.readline()
op = json.loads(line)["op"]
with open(os.environ["SLOW_TRANSFER_LOG"], "a") as f:
    f.write("%s %d %s\\n" % (op, os.getpid(),
                              "HOIST_AGENT_TOKEN" in os.environ))
if op == "upload":
    time.sleep(float(os.environ["SLOW_TRANSFER_SECONDS"]))
r, w = os.pipe()
os.write(w, line)
os.close(w)
os.dup2(r, 0)
os.execv(os.environ["SLOW_TRANSFER_REAL"], ["hoist-transfer"])
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # kill(pid, 0) also succeeds for a zombie, so read its state.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class AgentTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hoist-agent-e2e-")
        self.store = os.path.join(self.tmp, "artifacts")
        self.workdir = os.path.join(self.tmp, "agent")
        self.jobdir = os.path.join(self.tmp, "job")
        os.makedirs(self.jobdir)
        self.fake = None
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.fake:
            self.fake.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assignment(self, stub_args, resume=None, command=None, **extra):
        doc = {
            "job_id": "j-e2e01",
            "attempt": 1,
            "command": command or ["/usr/bin/python3", STUB] + stub_args,
            "workdir": self.jobdir,
            "env": {"STUB_LABEL": "from-job-env"},
            "grace_seconds": 5,
            "checkpoint_interval_seconds": 30,
            "heartbeat_interval_ms": 200,
            "storage_url": "file://" + self.store,
            "resume": resume,
            "an_unknown_field": {"is": "ignored"},
        }
        doc.update(extra)
        return doc

    def start(self, assignment, url=None, token=TOKEN, extra_env=None,
              program=None):
        if self.fake is None and url is None:
            self.fake = FakeOrchestrator(TOKEN, assignment).start()
        env = dict(os.environ)
        env.update({
            "HOIST_ORCHESTRATOR_URL": url or self.fake.url,
            "HOIST_AGENT_TOKEN": token,
            "HOIST_AGENT_WORKDIR": self.workdir,
            "HOIST_AGENT_LOG_LEVEL": "debug",
        })
        env.update(extra_env or {})
        self.stderr_path = os.path.join(self.tmp, "agent.stderr")
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([program or AGENT], env=env,
                                     stderr=self.stderr,
                                     stdout=subprocess.DEVNULL)
        return self.proc

    def wait_agent(self, timeout=60):
        try:
            code = self.proc.wait(timeout)
        finally:
            self.stderr.close()
        with open(self.stderr_path, "rb") as f:
            self.agent_log = f.read().decode("utf-8", "replace")
        return code

    def slow_transfer_env(self, seconds):
        """Returns the environment that puts the slow wrapper in front of
        the real hoist-transfer."""
        bin_dir = os.path.join(self.tmp, "bin")
        os.makedirs(bin_dir)
        wrapper = os.path.join(bin_dir, "hoist-transfer")
        with open(wrapper, "w") as f:
            f.write(SLOW_TRANSFER)
        os.chmod(wrapper, 0o755)
        self.transfer_log = os.path.join(self.tmp, "transfers.log")
        return {
            "HOIST_BIN_DIR": bin_dir,
            "SLOW_TRANSFER_LOG": self.transfer_log,
            "SLOW_TRANSFER_SECONDS": str(seconds),
            "SLOW_TRANSFER_REAL": os.path.join(os.path.dirname(AGENT),
                                               "hoist-transfer"),
        }

    def transfers(self):
        """Returns (op, pid, token visible) of each transfer so far."""
        try:
            with open(self.transfer_log) as f:
                return [(op, int(pid), visible == "True") for op, pid, visible
                        in (line.split() for line in f)]
        except FileNotFoundError:
            return []

    def upload_pids(self):
        return [pid for op, pid, _ in self.transfers() if op == "upload"]

    def heartbeat_times(self):
        with self.fake.lock:
            return [(t, body["state"]) for t, p, body in self.fake.requests
                    if p == "/v1/agent/heartbeat"]

    def exit_reports(self):
        return self.fake.bodies("/v1/agent/exit")

    def stored_log(self):
        with self.fake.lock:
            return self.fake.log.decode("utf-8")

    def check_manifest(self, commit):
        path = os.path.join(self.store, commit["manifest_key"])
        self.assertTrue(os.path.isfile(path), path)
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(hashlib.sha256(data).hexdigest(),
                         commit["manifest_sha256"])
        manifest = json.loads(data)
        self.assertEqual(manifest["step"], commit["step"])
        self.assertEqual(sorted(f["path"] for f in manifest["files"]),
                         ["state.json", "sub/weights.bin"])
        return manifest

    def test_run_to_completion(self):
        self.start(self.assignment(["--steps", "12", "--sleep", "0.1",
                                    "--checkpoint-every", "4"]))
        code = self.wait_agent()
        self.assertEqual(code, 0, self.agent_log)

        paths = self.fake.paths()
        self.assertEqual(paths[0], "/v1/agent/claim")
        self.assertEqual(paths[-1], "/v1/agent/exit")
        claim = self.fake.bodies("/v1/agent/claim")[0]
        self.assertEqual(claim["pid"], self.proc.pid)

        heartbeats = self.fake.bodies("/v1/agent/heartbeat")
        steps = [h["step"] for h in heartbeats if h["step"] is not None]
        self.assertTrue(steps, heartbeats)
        self.assertEqual(steps, sorted(steps))
        self.assertEqual(heartbeats[-1]["step"], 12)
        self.assertEqual(heartbeats[-1]["metrics"]["step"], 12)
        self.assertEqual(heartbeats[-1]["state"], "uploading")
        self.assertIn("running", [h["state"] for h in heartbeats])

        commits = self.fake.bodies("/v1/agent/checkpoints")
        self.assertTrue(commits)
        self.assertEqual(commits[-1]["step"], 12)
        for commit in commits:
            self.check_manifest(commit)
            self.assertEqual(commit["files"], 2)

        # Older committed folders are removed, the newest is kept.
        folders = sorted(os.listdir(os.path.join(self.workdir,
                                                 "checkpoints")))
        self.assertEqual(folders, ["step-12"])

        log = self.stored_log()
        self.assertIn("stub started", log)
        self.assertIn("HOIST_AGENT_TOKEN visible: False", log)
        self.assertIn("HOIST_ORCHESTRATOR_URL visible: False", log)
        self.assertIn("job env STUB_LABEL=from-job-env", log)
        self.assertIn("attempt 1 of job j-e2e01", log)
        self.assertIn("\ufffd\ufffd\ufffdend", log)
        self.assertIn("finished at step 12", log)
        with open(os.path.join(self.workdir, "command.log"), "rb") as f:
            self.assertIn(b"\xff\xfe\x00end", f.read())

        report = self.exit_reports()[0]
        self.assertEqual(report["exit_code"], 0)
        self.assertIsNone(report["signal"])
        self.assertFalse(report["preempted"])
        self.assertEqual(report["last_step"], 12)
        self.assertNotIn("error", report)
        self.assertIn("skipping invalid lines in metrics file", self.agent_log)
        self.assertNotIn(TOKEN, self.agent_log)

    def test_sigterm_commits_final_checkpoint(self):
        self.start(self.assignment(["--steps", "100000", "--sleep", "0.05"]))
        self.assertTrue(self.fake.wait_for(
            lambda: any(h["step"] for h in
                        self.fake.bodies("/v1/agent/heartbeat")), 30))
        self.proc.send_signal(signal.SIGTERM)
        code = self.wait_agent()
        self.assertEqual(code, 0, self.agent_log)

        commits = self.fake.bodies("/v1/agent/checkpoints")
        self.assertEqual(len(commits), 1, commits)
        self.check_manifest(commits[0])
        paths = self.fake.paths()
        self.assertLess(paths.index("/v1/agent/checkpoints"),
                        paths.index("/v1/agent/exit"))

        report = self.exit_reports()[0]
        self.assertTrue(report["preempted"])
        self.assertEqual(report["exit_code"], 0)
        self.assertGreaterEqual(report["last_step"], commits[0]["step"])
        self.assertIn("stopping at step %d" % commits[0]["step"],
                      self.stored_log())

    def test_fenced_kills_command_without_commit(self):
        pid_file = os.path.join(self.tmp, "stub.pid")
        self.start(self.assignment(["--steps", "100000", "--sleep", "0.05",
                                    "--ignore-sigterm",
                                    "--pid-file", pid_file]))
        self.assertTrue(self.fake.wait_for(
            lambda: os.path.exists(pid_file)
            and self.fake.heartbeats >= 2, 30))
        with open(pid_file) as f:
            stub_pid = int(f.read())
        # From now on the fake responds 410 to every request, and the
        # checkpoint folder created here must not be committed.
        os.makedirs(os.path.join(self.workdir, "checkpoints", "step-99"))
        with open(os.path.join(self.workdir, "checkpoints", "step-99",
                               "state.json"), "w") as f:
            f.write('{"step": 99}')
        with self.fake.lock:
            self.fake.fenced = True
        started = time.monotonic()
        code = self.wait_agent()
        self.assertEqual(code, 3, self.agent_log)
        # The stub ignores SIGTERM, so the agent waits 5 s, then SIGKILL.
        self.assertGreater(time.monotonic() - started, 4)
        self.assertFalse(process_alive(stub_pid))
        self.assertEqual(self.fake.bodies("/v1/agent/checkpoints"), [])
        self.assertEqual(self.exit_reports(), [])
        self.assertFalse(os.path.exists(os.path.join(
            self.store, "jobs", "j-e2e01", "checkpoints", "a1-s99")))

    def test_fenced_on_heartbeat(self):
        self.start(self.assignment(["--steps", "100000", "--sleep", "0.05",
                                    "--checkpoint-every", "1000000"]))
        self.fake.fence_from_heartbeat = 3
        code = self.wait_agent()
        self.assertEqual(code, 3, self.agent_log)
        self.assertEqual(self.exit_reports(), [])

    def test_heartbeats_during_slow_upload(self):
        self.start(self.assignment(["--steps", "60", "--sleep", "0.05",
                                    "--checkpoint-every", "20"]),
                   extra_env=self.slow_transfer_env(1.5))
        code = self.wait_agent()
        self.assertEqual(code, 0, self.agent_log)

        # Each upload took 1.5 s, yet heartbeats (every 200 ms) never
        # stopped: a blocked loop would leave a gap of 1.5 s or more.
        beats = self.heartbeat_times()
        gaps = [b[0] - a[0] for a, b in zip(beats, beats[1:])]
        self.assertLess(max(gaps), 1.0, gaps)
        uploading = [t for t, state in beats if state == "uploading"]
        self.assertGreaterEqual(len(uploading), 5, beats)
        self.assertIn("running", [state for _, state in beats])

        commits = self.fake.bodies("/v1/agent/checkpoints")
        self.assertTrue(commits)
        self.assertEqual(commits[-1]["step"], 60)
        for commit in commits:
            self.check_manifest(commit)
        self.assertEqual(self.exit_reports()[0]["last_step"], 60)
        transfers = self.transfers()
        self.assertEqual(transfers[0][0], "check")
        self.assertGreaterEqual(len(self.upload_pids()), 2)
        self.assertFalse(any(visible for _, _, visible in transfers))

    def test_fenced_kills_running_transfer(self):
        self.start(self.assignment(["--steps", "100000", "--sleep", "0.05",
                                    "--checkpoint-every", "10"]),
                   extra_env=self.slow_transfer_env(60))
        self.assertTrue(self.fake.wait_for(lambda: self.upload_pids(), 30))
        transfer_pid = self.upload_pids()[0]
        self.assertTrue(process_alive(transfer_pid))
        with self.fake.lock:
            self.fake.fenced = True
        started = time.monotonic()
        code = self.wait_agent(timeout=30)
        self.assertEqual(code, 3, self.agent_log)
        self.assertLess(time.monotonic() - started, 10)
        self.assertFalse(process_alive(transfer_pid))
        self.assertEqual(self.fake.bodies("/v1/agent/checkpoints"), [])
        self.assertEqual(self.exit_reports(), [])
        self.assertIn("fenced: killing hoist-transfer", self.agent_log)

    def test_sigterm_lets_upload_finish(self):
        self.start(self.assignment(["--steps", "100000", "--sleep", "0.05",
                                    "--checkpoint-every", "20"],
                                   grace_seconds=9),
                   extra_env=self.slow_transfer_env(3.5))
        # SIGTERM while step 20 uploads and the command is past step 20,
        # so that its final checkpoint is a new one.  The command's SIGKILL
        # deadline (6 s) passes during the final upload, which ends before
        # the transfers' deadline (8 s).
        self.assertTrue(self.fake.wait_for(lambda: self.upload_pids(), 30))
        self.assertTrue(self.fake.wait_for(
            lambda: (self.fake.bodies("/v1/agent/heartbeat")[-1]["step"]
                     or 0) > 20, 30))
        self.proc.send_signal(signal.SIGTERM)
        code = self.wait_agent()
        self.assertEqual(code, 0, self.agent_log)

        # The upload running at SIGTERM and the final checkpoint the
        # command wrote on SIGTERM were both committed before the report.
        commits = self.fake.bodies("/v1/agent/checkpoints")
        self.assertEqual(len(commits), 2, commits)
        self.assertEqual(commits[0]["step"], 20)
        for commit in commits:
            self.check_manifest(commit)
        self.assertIn("stopping at step %d" % commits[1]["step"],
                      self.stored_log())
        report = self.exit_reports()[0]
        self.assertTrue(report["preempted"])
        self.assertEqual(report["last_step"], commits[1]["step"])
        self.assertEqual(report["exit_code"], 0)
        self.assertNotIn("sent SIGKILL", self.agent_log)
        paths = self.fake.paths()
        last_commit = max(i for i, path in enumerate(paths)
                          if path == "/v1/agent/checkpoints")
        self.assertLess(last_commit, paths.index("/v1/agent/exit"))

    def test_sigterm_upload_over_grace_killed(self):
        self.start(self.assignment(["--steps", "100000", "--sleep", "0.05",
                                    "--checkpoint-every", "20"],
                                   grace_seconds=3),
                   extra_env=self.slow_transfer_env(60))
        self.assertTrue(self.fake.wait_for(lambda: self.upload_pids(), 30))
        transfer_pid = self.upload_pids()[0]
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.wait_agent()
        self.assertEqual(code, 0, self.agent_log)
        # Transfers get grace_seconds - 1 s, at least 1 s more than the
        # command's grace_seconds - 3 s (at least 1 s): here 2 s.
        self.assertLess(time.monotonic() - started, 8)
        self.assertFalse(process_alive(transfer_pid))
        self.assertEqual(self.fake.bodies("/v1/agent/checkpoints"), [])
        self.assertIn("did not finish within the grace period",
                      self.agent_log)
        report = self.exit_reports()[0]
        self.assertTrue(report["preempted"])
        self.assertEqual(report["exit_code"], 0)

    def test_stop_action(self):
        self.start(self.assignment(["--steps", "100000", "--sleep", "0.05"]))
        self.fake.stop_from_heartbeat = 4
        code = self.wait_agent()
        self.assertEqual(code, 0, self.agent_log)
        report = self.exit_reports()[0]
        self.assertFalse(report["preempted"])
        self.assertEqual(len(self.fake.bodies("/v1/agent/checkpoints")), 1)

    def test_grace_period_ends_with_sigkill(self):
        self.start(self.assignment(["--steps", "100000", "--sleep", "0.05",
                                    "--ignore-sigterm"], grace_seconds=0))
        self.assertTrue(self.fake.wait_for(
            lambda: self.fake.heartbeats >= 2, 30))
        self.proc.send_signal(signal.SIGTERM)
        code = self.wait_agent()
        self.assertEqual(code, 0, self.agent_log)
        report = self.exit_reports()[0]
        self.assertEqual(report["signal"], signal.SIGKILL)
        self.assertEqual(report["exit_code"], 128 + signal.SIGKILL)
        self.assertTrue(report["preempted"])
        states = [h["state"] for h in self.fake.bodies("/v1/agent/heartbeat")]
        self.assertIn("stopping", states)
        self.assertIn("sent SIGKILL", self.agent_log)

    def test_resume_restores_checkpoint(self):
        # A first attempt leaves a committed checkpoint at step 4.
        self.start(self.assignment(["--steps", "4", "--sleep", "0.05",
                                    "--checkpoint-every", "4"]))
        self.assertEqual(self.wait_agent(), 0, self.agent_log)
        commit = self.fake.bodies("/v1/agent/checkpoints")[-1]
        self.fake.close()

        resume = {"step": 4, "manifest_key": commit["manifest_key"],
                  "manifest_sha256": commit["manifest_sha256"]}
        second = self.assignment(["--steps", "6", "--sleep", "0.05"],
                                 resume=resume, attempt=2)
        self.fake = FakeOrchestrator(TOKEN, second).start()
        self.start(second)
        self.assertEqual(self.wait_agent(), 0, self.agent_log)
        heartbeats = self.fake.bodies("/v1/agent/heartbeat")
        self.assertEqual(heartbeats[0]["state"], "restoring")
        self.assertIn("resumed from step 4 (HOIST_RESUME_STEP=4)",
                      self.stored_log())
        self.assertIn("attempt 2 of job j-e2e01", self.stored_log())
        self.assertEqual(self.exit_reports()[0]["exit_code"], 0)

    def test_restore_failure_is_reported(self):
        resume = {"step": 4, "manifest_key":
                  "jobs/j-e2e01/checkpoints/a1-s4/manifest.json",
                  "manifest_sha256": "0" * 64}
        self.start(self.assignment([], resume=resume))
        self.assertEqual(self.wait_agent(), 4, self.agent_log)
        report = self.exit_reports()[0]
        self.assertEqual(report["exit_code"], -1)
        self.assertIn("cannot restore checkpoint", report["error"])
        self.assertNotIn("/v1/agent/logs", self.fake.paths()[2:])

    def test_shared_workdir_rejected(self):
        os.makedirs(os.path.join(self.jobdir, "checkpoints", "step-5"))
        self.workdir = self.jobdir
        self.start(self.assignment([]))
        self.assertEqual(self.wait_agent(), 4, self.agent_log)
        self.assertIn("is the job's workdir", self.exit_reports()[0]["error"])
        # The job's own files are left alone.
        self.assertTrue(os.path.isdir(os.path.join(self.jobdir, "checkpoints",
                                                   "step-5")))

    def test_exec_failure_reports_127(self):
        self.start(self.assignment([], command=["/nonexistent/train"]))
        self.assertEqual(self.wait_agent(), 0, self.agent_log)
        report = self.exit_reports()[0]
        self.assertEqual(report["exit_code"], 127)
        self.assertIn("No such file or directory", report["error"])

    def test_nonzero_exit_code_reported(self):
        self.start(self.assignment(["--steps", "1", "--exit-code", "3"]))
        self.assertEqual(self.wait_agent(), 0, self.agent_log)
        self.assertEqual(self.exit_reports()[0]["exit_code"], 3)

    def test_invalid_assignment_reported(self):
        self.start(self.assignment([], heartbeat_interval_ms="fast"))
        self.assertEqual(self.wait_agent(), 4, self.agent_log)
        report = self.exit_reports()[0]
        self.assertIn("heartbeat_interval_ms", report["error"])
        self.assertEqual(self.fake.bodies("/v1/agent/heartbeat"), [])

    def test_unauthorized_exits_2(self):
        self.start(self.assignment([]), token="wrong-token")
        self.assertEqual(self.wait_agent(), 2, self.agent_log)
        self.assertNotIn("wrong-token", self.agent_log)

    def test_claim_retries_until_hoistd_listens(self):
        port = free_port()
        assignment = self.assignment(["--steps", "1"])
        self.start(assignment, url="http://127.0.0.1:%d" % port)
        time.sleep(1.5)
        self.assertIsNone(self.proc.poll())
        self.fake = FakeOrchestrator(TOKEN, assignment, port=port).start()
        self.assertEqual(self.wait_agent(), 0, self.agent_log)
        self.assertEqual(self.exit_reports()[0]["exit_code"], 0)

    def test_hoistd_restart_mid_run(self):
        assignment = self.assignment(["--steps", "40", "--sleep", "0.1",
                                      "--checkpoint-every", "10"])
        self.start(assignment)
        self.assertTrue(self.fake.wait_for(
            lambda: self.fake.heartbeats >= 2, 30))
        port = int(self.fake.url.rsplit(":", 1)[1])
        with self.fake.lock:
            stored_log = self.fake.log
            last_committed = self.fake.last_committed
        self.fake.close()
        # hoistd is down for 2 s; the command keeps running meanwhile.
        time.sleep(2)
        self.assertIsNone(self.proc.poll())
        self.fake = FakeOrchestrator(TOKEN, assignment, port=port)
        self.fake.log = stored_log
        self.fake.last_committed = last_committed
        self.fake.start()
        self.assertEqual(self.wait_agent(), 0, self.agent_log)
        report = self.exit_reports()[0]
        self.assertEqual(report["exit_code"], 0)
        self.assertEqual(report["last_step"], 40)
        self.assertEqual(self.fake.last_committed, 40)
        self.assertIn("finished at step 40", self.stored_log())
        self.assertIn("failed (transient)", self.agent_log)

    def test_https_url_rejected(self):
        self.start(self.assignment([]), url="https://127.0.0.1:1")
        self.assertEqual(self.wait_agent(), 1, self.agent_log)
        self.assertIn("HOIST_ORCHESTRATOR_URL is invalid: https:// URLs "
                      "are not supported", self.agent_log)
        self.assertIn("TLS-terminating tunnel", self.agent_log)

    def test_missing_hoist_transfer_reported(self):
        empty = os.path.join(self.tmp, "empty-bin")
        os.makedirs(empty)
        # The agent copied to a folder of its own has no hoist-transfer
        # next to it, and PATH has none either.
        agent_copy = os.path.join(empty, "hoist-agent")
        shutil.copy(AGENT, agent_copy)
        self.start(self.assignment(["--steps", "1"]),
                   extra_env={"PATH": "/usr/bin:/bin"}, program=agent_copy)
        self.assertEqual(self.wait_agent(), 4, self.agent_log)
        report = self.exit_reports()[0]
        self.assertEqual(report["exit_code"], -1)
        self.assertIn("cannot find the 'hoist-transfer' executable",
                      report["error"])

    def test_bad_storage_url_reported(self):
        self.start(self.assignment(["--steps", "1"],
                                   storage_url="s4://bucket"))
        self.assertEqual(self.wait_agent(), 4, self.agent_log)
        report = self.exit_reports()[0]
        self.assertEqual(report["exit_code"], -1)
        self.assertIn("s4", report["error"])
        self.assertEqual(self.fake.bodies("/v1/agent/heartbeat"), [])

    def test_missing_environment_is_an_error(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("HOIST_")}
        proc = subprocess.run([AGENT], env=env, capture_output=True,
                              timeout=10)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"HOIST_ORCHESTRATOR_URL is not set", proc.stderr)

    def test_help_and_version(self):
        out = subprocess.run([AGENT, "--help"], capture_output=True,
                             timeout=10)
        self.assertEqual(out.returncode, 0)
        self.assertIn(b"HOIST_AGENT_TOKEN", out.stdout)
        out = subprocess.run([AGENT, "--version"], capture_output=True,
                             timeout=10)
        self.assertEqual(out.returncode, 0)
        self.assertTrue(out.stdout.startswith(b"hoist-agent "))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_agent_e2e.py PATH/TO/hoist-agent")
    AGENT = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

"""End-to-end tests of the hoist binary against the fake hoistd.

Usage: test_cli_fake.py PATH_TO_HOIST [unittest arguments]

Every test talks only to fake hoistds that it starts on 127.0.0.1.
"""

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

from fake_hoistd import UPLOAD_ERROR, FakeHoistd

HOIST = None

PROFILES = """\
profiles:
  dev-test:
    gpu_name: "RTX 4090"
    num_gpus: 1
    max_dph: 0.40
    reliability_min: 0.95
    max_duration_hours: 2.0
    interruptible: true
"""

JOB = """\
name: {name}
profile: dev-test
command: ["/usr/bin/python3", "train.py", "--steps", "600"]
env:
  LR: "0.05"
grace: 20s
"""


def process_gone(pid):
    """Returns True when pid has exited; a zombie waiting for its reaper
    counts as exited."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def closed_port():
    """Returns a loopback port that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hoist-cli-e2e-")
        self.fake = FakeHoistd().start()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.tmp,
            "HOIST_HOME": os.path.join(self.tmp, "home"),
            "HOIST_URL": self.fake.url,
            "HOIST_TOKEN": self.fake.token,
            "HOIST_POLL_INTERVAL_MS": "20",
            "NO_COLOR": "1",
        }
        self.profiles = os.path.join(self.tmp, "gpu_profiles.yaml")
        with open(self.profiles, "w") as f:
            f.write(PROFILES)

    def tearDown(self):
        self.fake.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def hoist(self, *args, env=None, timeout=30):
        return subprocess.run([HOIST, *args], env=env or self.env,
                              capture_output=True, text=True,
                              timeout=timeout)

    def job_file(self, name):
        path = os.path.join(self.tmp, name + ".yaml")
        with open(path, "w") as f:
            f.write(JOB.format(name=name))
        return path

    def assert_usage_error(self, result, message):
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(message, result.stderr)
        self.assertIn("usage: hoist", result.stderr)
        self.assertEqual(result.stdout, "")


class UsageTest(CliTestCase):
    def test_unknown_command(self):
        self.assert_usage_error(self.hoist("bogus"),
                                "hoist: unknown command 'bogus'")

    def test_missing_command(self):
        self.assert_usage_error(self.hoist(), "hoist: missing command")

    def test_unknown_global_option(self):
        self.assert_usage_error(self.hoist("--bogus"),
                                "hoist: unknown option '--bogus'")

    def test_unknown_command_option(self):
        self.assert_usage_error(self.hoist("jobs", "--bogus"),
                                "hoist: unknown option '--bogus'")

    def test_missing_argument(self):
        self.assert_usage_error(self.hoist("show"),
                                "hoist: missing argument JOB")
        self.assert_usage_error(self.hoist("instances", "fault", "x"),
                                "hoist: missing argument MODE")

    def test_extra_argument(self):
        self.assert_usage_error(self.hoist("jobs", "extra"),
                                "hoist: unexpected argument 'extra'")

    def test_bad_values(self):
        self.assert_usage_error(
            self.hoist("instances", "preempt", "i-1", "--grace", "soon"),
            "--grace: invalid duration 'soon'")
        self.assert_usage_error(
            self.hoist("instances", "preempt", "i-1", "--grace", "1500ms"),
            "is not a whole number of seconds")
        self.assert_usage_error(
            self.hoist("instances", "fault", "i-1", "melt"),
            "unknown fault mode 'melt'")
        self.assert_usage_error(self.hoist("logs", "j-1", "--attempt", "0"),
                                "invalid attempt number '0'")
        self.assert_usage_error(
            self.hoist("run", "x.yaml", "--logs", "--json"),
            "--logs cannot be combined with --json")
        self.assert_usage_error(self.hoist("logs", "j-1", "-f", "--json"),
                                "--json cannot be combined with --follow")

    def test_help_and_version(self):
        result = self.hoist("--help")
        self.assertEqual(result.returncode, 0)
        for command in ("run", "jobs", "show", "logs", "cancel",
                        "instances", "daemon"):
            self.assertIn("  " + command, result.stdout)
        result = self.hoist("--version")
        self.assertEqual(result.returncode, 0)
        self.assertRegex(result.stdout, r"^hoist \d+\.\d+\.\d+\n$")
        result = self.hoist("run", "--help")
        self.assertEqual(result.returncode, 0)
        self.assertIn("usage: hoist run JOB.yaml [options]", result.stdout)
        self.assertIn("--profiles FILE", result.stdout)
        self.assertIn("gpu_profiles.yaml", result.stdout)
        result = self.hoist("help", "logs")
        self.assertEqual(result.returncode, 0)
        self.assertIn("-f, --follow", result.stdout)
        # No request reached hoistd.
        self.assertEqual(self.fake.requests, [])

    def test_run_help_names_config_dir(self):
        env = dict(self.env, HOIST_CONFIG_DIR="/nowhere/conf")
        result = self.hoist("run", "--help", env=env)
        self.assertIn("/nowhere/conf/gpu_profiles.yaml (from "
                      "HOIST_CONFIG_DIR)", result.stdout)


class ReadCommandsTest(CliTestCase):
    def test_jobs_json(self):
        first = self.fake.add_job("first", state="running", created_ago=300)
        second = self.fake.add_job("second")
        result = self.hoist("jobs", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        doc = json.loads(result.stdout)
        self.assertEqual([j["id"] for j in doc["jobs"]], [second, first])
        self.assertEqual(doc["jobs"][1]["state"], "running")

    def test_jobs_table_hides_old_jobs(self):
        recent = self.fake.add_job("recent", state="running",
                                   created_ago=300)
        old = self.fake.add_job("old", state="succeeded",
                                created_ago=4 * 86400,
                                ended_ago=3 * 86400)
        result = self.hoist("jobs")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertRegex(lines[0], r"^ID +NAME +STATE +ATTEMPTS +STEP +"
                                   r"COST +AGE$")
        self.assertRegex(lines[1], r"^%s +recent +running +0 +- +\$0\.0000 "
                                   r"+5m ago$" % recent)
        self.assertNotIn(old, result.stdout)
        self.assertIn("1 jobs that ended more than 24 hours ago are not "
                      "shown", result.stdout)

        result = self.hoist("jobs", "--all")
        self.assertIn(old, result.stdout)
        self.assertIn("4d ago", result.stdout)
        doc = json.loads(self.hoist("jobs", "--json").stdout)
        self.assertEqual([j["id"] for j in doc["jobs"]], [recent])

    def test_jobs_empty(self):
        result = self.hoist("jobs")
        self.assertEqual(result.returncode, 0)
        self.assertIn("no jobs yet", result.stdout)

    def test_show(self):
        job_id = self.fake.add_job("shown", state="running")
        result = self.hoist("show", job_id)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("id:            %s\n" % job_id, result.stdout)
        self.assertIn("state:         running\n", result.stdout)
        self.assertIn("profile:       dev-test: RTX 4090 x1, max "
                      "$0.4000/h", result.stdout)
        self.assertIn("attempts (0):", result.stdout)

        result = self.hoist("show", job_id, "--json")
        self.assertEqual(json.loads(result.stdout)["id"], job_id)

    def test_show_attempts_and_checkpoints(self):
        spec_path = self.job_file("tables")
        submitted = self.hoist("run", "--detach", "--quiet", "--profiles",
                               self.profiles, spec_path)
        job_id = submitted.stdout.strip()
        for _ in range(4):     # provisioning, running, checkpoint
            result = self.hoist("show", job_id)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("attempts (1):", result.stdout)
        self.assertIn("local-aaaa0001", result.stdout)
        self.assertIn("checkpoints (1):", result.stdout)
        self.assertIn("a1-s100/manifest.json", result.stdout)
        self.assertIn("env:           LR\n", result.stdout)

    def test_show_unknown_job(self):
        result = self.hoist("show", "j-missing")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr, "hoist: no job 'j-missing'\n")

    def test_show_rejects_path_in_id(self):
        result = self.hoist("show", "../v1/health")
        self.assertEqual(result.returncode, 1)
        self.assertIn("invalid job id '../v1/health'", result.stderr)
        self.assertEqual(self.fake.requests, [])

    def test_wrong_token(self):
        env = dict(self.env, HOIST_TOKEN="wrong")
        result = self.hoist("jobs", env=env)
        self.assertEqual(result.returncode, 1)
        self.assertIn("hoistd rejected the admin token from HOIST_TOKEN",
                      result.stderr)

    def test_unreachable_url(self):
        port = closed_port()
        env = dict(self.env, HOIST_URL="http://127.0.0.1:%d" % port)
        result = self.hoist("jobs", env=env)
        self.assertEqual(result.returncode, 1)
        self.assertIn("hoist: cannot reach hoistd at HOIST_URL="
                      "http://127.0.0.1:%d: GET http://127.0.0.1:%d/v1/jobs "
                      "failed" % (port, port), result.stderr)
        self.assertIn("unset HOIST_URL", result.stderr)

    def test_invalid_url(self):
        env = dict(self.env, HOIST_URL="127.0.0.1:7341")
        result = self.hoist("jobs", env=env)
        self.assertEqual(result.returncode, 1)
        self.assertIn("HOIST_URL: '127.0.0.1:7341' is not an http:// or "
                      "https:// URL", result.stderr)

    def test_cancel(self):
        job_id = self.fake.add_job("victim", state="running")
        result = self.hoist("cancel", job_id)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "job %s is cancelled\n" % job_id)
        self.assertEqual(len(self.fake.requests_to(
            "POST", "/v1/jobs/%s/cancel" % job_id)), 1)
        result = self.hoist("cancel", job_id, "--json")
        self.assertEqual(json.loads(result.stdout)["end_reason"],
                         "cancelled_by_user")

    def test_instances(self):
        self.fake.add_instance("local-1a2b3c4d", job_id="j-1")
        self.fake.add_instance("local-gone", state="destroyed")
        result = self.hoist("instances")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"local-1a2b3c4d +local +running +"
                                        r"j-1 +1 +RTX 4090 +\$0\.3500 +"
                                        r"\$0\.0087 +1m ago")
        self.assertNotIn("local-gone", result.stdout)
        doc = json.loads(self.hoist("instances", "--all", "--json").stdout)
        self.assertEqual(len(doc["instances"]), 2)

    def test_instances_preempt_and_fault(self):
        self.fake.add_instance("local-1a2b3c4d")
        path = "/v1/instances/local-1a2b3c4d/preempt"
        result = self.hoist("instances", "preempt", "local-1a2b3c4d")
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.hoist("instances", "preempt", "local-1a2b3c4d",
                            "--grace", "10")
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.hoist("instances", "preempt", "local-1a2b3c4d",
                            "--grace=2m")
        self.assertIn("grace time of 120 s", result.stdout)
        self.assertEqual(self.fake.requests_to("POST", path),
                         [{"grace_seconds": 30}, {"grace_seconds": 10},
                          {"grace_seconds": 120}])

        result = self.hoist("instances", "fault", "local-1a2b3c4d",
                            "block-destroy")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.fake.requests_to(
            "POST", "/v1/instances/local-1a2b3c4d/fault"),
            [{"fault": "block_destroy"}])

        result = self.hoist("instances", "preempt", "local-missing")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr,
                         "hoist: no live instance 'local-missing'\n")


class RunTest(CliTestCase):
    def run_job(self, name, *extra, timeout=30):
        return self.hoist("run", "--profiles", self.profiles, *extra,
                          self.job_file(name), timeout=timeout)

    def test_run_detach_posts_spec(self):
        result = self.run_job("detached", "--detach")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"^submitted job j-[0-9a-f]{8} "
                                        r"\(detached\), state queued\n")
        specs = self.fake.requests_to("POST", "/v1/jobs")
        self.assertEqual(len(specs), 1)
        spec = specs[0]
        self.assertEqual(spec["name"], "detached")
        self.assertEqual(spec["profile"]["name"], "dev-test")
        self.assertEqual(spec["profile"]["gpu_name"], "RTX 4090")
        self.assertEqual(spec["command"], ["/usr/bin/python3", "train.py",
                                           "--steps", "600"])
        self.assertEqual(spec["env"], {"LR": "0.05"})
        self.assertEqual(spec["grace_seconds"], 20)
        self.assertEqual(spec["workdir"], os.path.realpath(self.tmp))
        # --detach never polls the job.
        self.assertEqual(len(self.fake.requests), 1)

    def test_run_detach_json_and_quiet(self):
        result = self.run_job("detached", "--detach", "--json")
        self.assertEqual(json.loads(result.stdout)["state"], "queued")
        result = self.run_job("detached", "--detach", "-q")
        self.assertRegex(result.stdout, r"^j-[0-9a-f]{8}\n$")

    def test_run_bad_job_file(self):
        path = os.path.join(self.tmp, "bad.yaml")
        with open(path, "w") as f:
            f.write("name: bad\nprofile: no-such-profile\n"
                    "command: [x]\n")
        result = self.hoist("run", "--profiles", self.profiles, path)
        self.assertEqual(result.returncode, 1)
        self.assertIn("bad.yaml:", result.stderr)
        self.assertEqual(self.fake.requests, [])

    def test_run_missing_profiles(self):
        env = dict(self.env, HOIST_CONFIG_DIR=os.path.join(self.tmp, "no"))
        result = self.hoist("run", self.job_file("x"), env=env)
        self.assertEqual(result.returncode, 1)
        self.assertIn("GPU profiles (from HOIST_CONFIG_DIR; choose another "
                      "file with --profiles)", result.stderr)
        self.assertIn("gpu_profiles.yaml", result.stderr)

    def test_run_follows_to_success(self):
        result = self.run_job("charlm")
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout

        # The events in the order of the fake's timeline.
        events = [
            "] job j-", " queued\n",
            "] job j-", " provisioning\n",
            "] attempt 1 started\n",
            "] job j-", " running\n",
            "] attempt 1 runs on instance local-aaaa0001\n",
            "] checkpoint committed at step 100 (attempt 1)\n",
            "] attempt 1 ended: preempted at step 120\n",
            "] job j-", " recovering\n",
            "] attempt 2 started on instance local-bbbb0002\n",
            "] attempt 2 resumed from step 100\n",
            "] checkpoint committed at step 200 (attempt 2)\n",
            "] attempt 2 ended: completed at step 250\n",
            "] job j-", " succeeded: completed\n",
        ]
        position = 0
        for event in events:
            found = out.find(event, position)
            self.assertGreaterEqual(found, 0, "%r missing after offset %d "
                                    "in:\n%s" % (event, position, out))
            position = found + len(event)

        # The summary.
        self.assertRegex(out, r"\n\njob j-[0-9a-f]{8} \(charlm\): "
                              r"succeeded, end reason completed\n")
        self.assertIn("  attempts 2, checkpoints 2, last step 250, cost "
                      "$0.0123", out)
        self.assertRegex(out, r"  +1  local-aaaa0001  ended .* preempted "
                              r"+143 +- +120\n")
        self.assertRegex(out, r"  +2  local-bbbb0002  ended .* completed "
                              r"+0 +100 +250\n")
        self.assertIn("step 100, loss 2.5", out)
        self.assertNotIn("a1 line 1", out)

    def test_run_follows_to_failure(self):
        result = self.run_job("will-fail")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("] attempt 1 started on instance local-cccc0003\n",
                      result.stdout)
        self.assertIn("] attempt 1 ended: command_failed\n", result.stdout)
        self.assertIn(" failed: too_many_failures\n", result.stdout)
        self.assertIn("failed, end reason too_many_failures", result.stdout)
        self.assertEqual(result.stderr, "")

    def test_run_attempt_ended_between_polls(self):
        result = self.run_job("blink")
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout
        lines = [line.split("] ", 1)[1] for line in out.splitlines()
                 if line.startswith("[")]
        self.assertEqual(lines, [
            "job %s queued" % lines[0].split()[1],
            "attempt 1 started on instance local-eeee0005",
            "attempt 1 ended: command_failed",
            "job %s starting" % lines[0].split()[1],
            "attempt 2 started on instance local-ffff0006",
            "attempt 2 ended: completed at step 10",
            "job %s succeeded: completed" % lines[0].split()[1],
        ])

    def test_run_json_prints_final_record_only(self):
        result = self.run_job("json-run", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        record = json.loads(result.stdout)
        self.assertEqual(record["state"], "succeeded")
        self.assertEqual(len(record["attempts"]), 2)

    def test_run_quiet_prints_summary_only(self):
        result = self.run_job("will-fail-quietly", "--quiet")
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stdout.startswith("job j-"), result.stdout)
        self.assertNotIn("] ", result.stdout)

    def test_run_streams_logs(self):
        result = self.run_job("logged", "--logs")
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout
        for line in ("a1 line 1\n", "a1 line 2\n", "a1 got SIGTERM\n",
                     "a2 resumed at 100\n", "a2 done\n"):
            self.assertEqual(out.count(line), 1, out)
        self.assertLess(out.index("a1 got SIGTERM"),
                        out.index("a2 resumed at 100"))
        # An attempt's log comes between its start and its end line, and
        # all of it before the job's final state and the summary.
        self.assertLess(out.index("] attempt 1 started"),
                        out.index("a1 line 1"), out)
        self.assertLess(out.index("a1 got SIGTERM"),
                        out.index("] attempt 1 ended"), out)
        self.assertLess(out.index("] attempt 2 started"),
                        out.index("a2 resumed at 100"), out)
        self.assertLess(out.index("a2 done"),
                        out.index("] attempt 2 ended"), out)
        self.assertLess(out.index("a2 done"),
                        out.index(" succeeded: completed"), out)

    def test_run_prints_every_checkpoint(self):
        result = self.run_job("burst")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = [line.split("] ", 1)[1] for line in
                 result.stdout.splitlines() if line.startswith("[")]
        committed = [line for line in lines
                     if line.startswith("checkpoint committed")]
        self.assertEqual(committed, [
            "checkpoint committed at step %d (attempt 1)" % step
            for step in (100, 200, 300, 400, 500)], result.stdout)

    def test_run_reports_upload_errors(self):
        result = self.run_job("uploaderr")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = [line.split("] ", 1)[1] for line in
                 result.stdout.splitlines() if line.startswith("[")]
        failing = [line for line in lines
                   if line.startswith("checkpoint upload failing")]
        self.assertEqual(failing, ["checkpoint upload failing: " +
                                   UPLOAD_ERROR])
        self.assertIn("checkpoint uploads work again", lines)
        self.assertLess(lines.index("checkpoint uploads work again"),
                        lines.index("checkpoint committed at step 200 "
                                    "(attempt 1)"))

    def test_show_prints_upload_error(self):
        job_id = self.hoist("run", "--profiles", self.profiles, "--detach",
                            "--json", self.job_file("uploaderr"))
        job_id = json.loads(job_id.stdout)["id"]
        show_output = ""
        for _ in range(4):
            show_output = self.hoist("show", job_id).stdout
            if "upload error:" in show_output:
                break
        self.assertIn("upload error:", show_output)
        self.assertIn(UPLOAD_ERROR, show_output)

    def test_run_interrupt_stops_following(self):
        process = subprocess.Popen(
            [HOIST, "run", "--profiles", self.profiles,
             self.job_file("runs-forever")], env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and \
                    len(self.fake.requests) < 5:
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.assertEqual(process.returncode, 130, err)
        self.assertIn("stopped following job j-", err)
        self.assertIn("the job keeps running", err)
        self.assertRegex(err, r"'hoist show j-[0-9a-f]{8}'")
        self.assertRegex(err, r"'hoist logs j-[0-9a-f]{8} -f'")
        cancels = [p for m, p, _ in self.fake.requests if "cancel" in p]
        self.assertEqual(cancels, [])


class LogsTest(CliTestCase):
    def submit(self, name):
        result = self.hoist("run", "--detach", "-q", "--profiles",
                            self.profiles,
                            os.path.join(self.tmp, self.write_job(name)))
        return result.stdout.strip()

    def write_job(self, name):
        path = os.path.join(self.tmp, name + ".yaml")
        with open(path, "w") as f:
            f.write(JOB.format(name=name))
        return path

    def test_logs_latest_and_by_attempt(self):
        job_id = self.submit("logs")
        for _ in range(5):          # up to the start of attempt 2
            self.hoist("show", job_id)
        result = self.hoist("logs", job_id)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "a2 resumed at 100\n")
        result = self.hoist("logs", job_id, "--attempt", "1")
        self.assertEqual(result.stdout,
                         "a1 line 1\na1 line 2\na1 got SIGTERM\n")
        doc = json.loads(self.hoist("logs", job_id, "--attempt", "1",
                                    "--json").stdout)
        self.assertEqual(doc, {"job_id": job_id, "attempt": 1,
                               "data": "a1 line 1\na1 line 2\n"
                                       "a1 got SIGTERM\n",
                               "next_offset": 35, "eof": True})
        result = self.hoist("logs", job_id, "--attempt", "7")
        self.assertEqual(result.returncode, 1)
        self.assertIn("invalid attempt '7'", result.stderr)

    def test_logs_follow_until_end(self):
        job_id = self.submit("followed")
        result = self.hoist("logs", job_id, "-f")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "a1 line 1\na1 line 2\n"
                         "a1 got SIGTERM\na2 resumed at 100\na2 done\n")
        self.assertIn("hoist: attempt 2 of job %s" % job_id, result.stderr)

    def test_logs_without_attempt(self):
        job_id = self.fake.add_job("queued-job")
        result = self.hoist("logs", job_id)
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stdout, "")
        self.assertIn("has no attempt yet", result.stderr)


class CkptTest(CliTestCase):
    """The checks of "hoist ckpt" that run before any transfer.  The
    transfers themselves are tested in tests/e2e/test_s3_ckpt.py."""

    def add_checkpoints(self, job_id, rows):
        with self.fake.lock:
            job = self.fake.jobs[job_id]
            for step, attempt, files, size in rows:
                job["checkpoints"].append({
                    "step": step, "attempt": attempt, "files": files,
                    "bytes": size,
                    "committed_at": "2026-12-04T20:11:12.345Z",
                    "manifest_key": "jobs/%s/checkpoints/a%d-s%d/"
                                    "manifest.json" % (job_id, attempt,
                                                       step),
                })

    def test_ls_table_alignment(self):
        job_id = self.fake.add_job("listed", state="running")
        self.add_checkpoints(job_id, [(50, 1, 1, 7), (1200, 12, 3,
                                                      3145745)])
        result = self.hoist("ckpt", "ls", job_id)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(len(lines), 3, result.stdout)
        self.assertEqual(lines[0], "STEP  ATTEMPT  FILES    BYTES  "
                                   "COMMITTED                 MANIFEST")
        self.assertEqual(lines[1], "  50        1      1        7  "
                                   "2026-12-04T20:11:12.345Z  jobs/%s/"
                                   "checkpoints/a1-s50/manifest.json"
                         % job_id)
        self.assertEqual(lines[2], "1200       12      3  3145745  "
                                   "2026-12-04T20:11:12.345Z  jobs/%s/"
                                   "checkpoints/a12-s1200/manifest.json"
                         % job_id)

    def test_pull_rejects_non_empty_dir(self):
        job_id = self.fake.add_job("pulled", state="succeeded")
        precious = os.path.join(self.tmp, "precious")
        os.makedirs(precious)
        with open(os.path.join(precious, "notes.txt"), "w") as f:
            f.write("keep me\n")
        for args in ((job_id, "5000", precious), (job_id, precious)):
            result = self.hoist("ckpt", "pull", *args)
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn("DIR '%s' is not empty" % precious, result.stderr)
            self.assertIn("--force", result.stderr)
            self.assertNotIn("pulling", result.stderr)
            self.assertEqual(result.stdout, "")
        # "." names the current folder, which is not empty either.
        result = subprocess.run([HOIST, "ckpt", "pull", job_id, "."],
                                env=self.env, cwd=precious,
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("DIR '.' is not empty", result.stderr)
        with open(os.path.join(precious, "notes.txt")) as f:
            self.assertEqual(f.read(), "keep me\n")
        self.assertEqual(self.fake.requests, [])

    def test_pull_rejects_file_as_dir(self):
        path = os.path.join(self.tmp, "plain.txt")
        with open(path, "w") as f:
            f.write("x\n")
        result = self.hoist("ckpt", "pull", "j-00000001", path)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("DIR '%s' is not a directory" % path, result.stderr)
        self.assertEqual(self.fake.requests, [])

    def test_pull_rejects_symlink_dir(self):
        folder = os.path.join(self.tmp, "real")
        os.mkdir(folder)
        link = os.path.join(self.tmp, "link")
        os.symlink(folder, link)
        result = self.hoist("ckpt", "pull", "j-00000001", link)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("DIR '%s' is a symbolic link" % link, result.stderr)
        self.assertEqual(self.fake.requests, [])

    def test_pull_force_accepts_non_empty_dir(self):
        job_id = self.fake.add_job("forced", state="succeeded")
        folder = os.path.join(self.tmp, "used")
        os.makedirs(folder)
        open(os.path.join(folder, "old.bin"), "wb").close()
        result = self.hoist("ckpt", "pull", job_id, folder, "--force")
        # The job has no checkpoint, so the pull stops after the lookup.
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("job %s has no committed checkpoint yet" % job_id,
                      result.stderr)
        self.assertEqual(len(self.fake.requests), 1)

    def test_pull_missing_dir_usage(self):
        result = self.hoist("ckpt", "pull", "j-00000001")
        self.assert_usage_error(result, "hoist: missing argument DIR\n")
        self.assertIn("usage: hoist ckpt pull JOB [STEP] DIR [options]\n",
                      result.stderr)
        self.assertEqual(self.fake.requests, [])

    def test_pull_help(self):
        result = self.hoist("ckpt", "pull", "--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.startswith(
            "usage: hoist ckpt pull JOB [STEP] DIR [options]\n"),
            result.stdout)
        self.assertIn("CRC-32C", result.stdout)
        self.assertIn("--force", result.stdout)
        self.assertTrue(result.stdout.endswith("\n"), result.stdout)
        result = self.hoist("ckpt", "push", "--help")
        self.assertTrue(result.stdout.endswith("\n"), result.stdout)

    def test_push_rejects_empty_dir(self):
        job_id = self.fake.add_job("pushed", state="succeeded")
        empty = os.path.join(self.tmp, "empty", "nested")
        os.makedirs(empty)
        result = self.hoist("ckpt", "push", job_id,
                            os.path.dirname(empty))
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("DIR '%s' contains no regular file"
                      % os.path.dirname(empty), result.stderr)
        self.assertEqual(self.fake.requests, [])


class AutostartTest(unittest.TestCase):
    """hoist starts hoistd when HOIST_URL is unset and nothing responds."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hoist-cli-start-")
        self.bin = os.path.join(self.tmp, "bin")
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.bin)
        fake = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "fake_hoistd.py")
        # argv[0] "hoistd" lets 'hoist daemon stop' recognize the fake.
        with open(os.path.join(self.bin, "hoistd"), "w") as f:
            f.write("#!/bin/bash\nexec -a hoistd '%s' '%s' --idle-exit 20 "
                    "\"$@\"\n" % (sys.executable, fake))
        os.chmod(os.path.join(self.bin, "hoistd"), 0o755)
        self.env = {"PATH": "/usr/bin:/bin", "HOME": self.tmp,
                    "HOIST_HOME": self.home, "HOIST_BIN_DIR": self.bin,
                    "NO_COLOR": "1"}
        self.pid = None

    def tearDown(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_starts_hoistd_once(self):
        result = subprocess.run([HOIST, "jobs"], env=self.env,
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stderr,
                         r"^started hoistd \(pid (\d+), http://127\.0\.0\.1:"
                         r"\d+, log: %s/hoistd\.log\)\n$" % self.home)
        self.pid = int(result.stderr.split("pid ")[1].split(",")[0])
        self.assertIn("no jobs yet", result.stdout)

        # The second call finds it through hoistd.url.
        result = subprocess.run([HOIST, "jobs", "--json"], env=self.env,
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")
        self.assertEqual(json.loads(result.stdout), {"jobs": []})

    def hoist(self, *args):
        return subprocess.run([HOIST, *args], env=self.env,
                              capture_output=True, text=True, timeout=30)

    def test_daemon_status_and_stop(self):
        result = self.hoist("daemon", "status")
        self.assertEqual(result.returncode, 1)
        self.assertIn("hoistd is not running", result.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.home,
                                                     "hoistd.url")))

        started = self.hoist("jobs")
        self.assertEqual(started.returncode, 0, started.stderr)
        self.pid = int(started.stderr.split("pid ")[1].split(",")[0])

        result = self.hoist("daemon", "status")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("hoistd is running\n", result.stdout)
        self.assertIn("  pid:      %d\n" % self.pid, result.stdout)
        self.assertIn("  log:      %s/hoistd.log\n" % self.home,
                      result.stdout)
        doc = json.loads(self.hoist("daemon", "status", "--json").stdout)
        self.assertEqual(doc["pid"], self.pid)
        self.assertTrue(doc["running"])

        result = self.hoist("daemon", "stop")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "stopped hoistd (pid %d)\n"
                         % self.pid)
        self.assertTrue(process_gone(self.pid))
        self.pid = None

        result = self.hoist("daemon", "stop")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("hoistd is not running", result.stdout)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli_fake.py PATH_TO_HOIST [unittest args]")
    HOIST = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

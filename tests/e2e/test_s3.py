"""End to end on S3: hoistd holds the credentials, agents get presigned
URLs for their own job's prefix only.

s3rver (npm, installed by tests/s3/setup.sh) runs on 127.0.0.1 behind the
signature-checking proxy of tests/s3/, which verifies every presigned URL.
The credentials are fake test values, so a grep for them in every log,
environment and argv proves that none leaked.
"""

import importlib.util
import json
import os
import re
import unittest
import urllib.error
import urllib.request

from harness import (SOURCE_DIR, Hoist, process_name,
                     processes_with_env, wait_for, write_job)

# tests/s3/harness.py starts s3rver and the proxy; it shares its module
# name with this folder's harness, so it is loaded by path.
_spec = importlib.util.spec_from_file_location(
    "s3_harness", os.path.join(SOURCE_DIR, "tests", "s3", "harness.py"))
s3h = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(s3h)

SIGNATURE = re.compile(rb"X-Amz-Signature=[0-9a-f]{64}")
CREDENTIAL = re.compile(rb"X-Amz-Credential=AKIA")


def read_proc(pid, name):
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            return f.read()
    except OSError:
        return b""


class S3TestCase(unittest.TestCase):
    """A test case with s3rver behind the signature-checking proxy, and
    hoistd on an s3:// store there."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(s3h.S3RVER):
            s3h.run_setup()

    def setUp(self):
        self.servers = s3h.Servers(self.id().rsplit(".", 1)[-1])
        self.addCleanup(self.servers.stop)

    def start_hoist(self, prefix, **options):
        """Starts hoistd on the store below prefix, with the test
        credentials in its environment only."""
        url = self.servers.url(prefix, **options)
        hoist = Hoist(self, ["--storage", url])
        hoist.env = s3h.tool_env({k: v for k, v in hoist.env.items()
                                  if not k.startswith("AWS_")})
        self.addCleanup(hoist.cleanup)
        hoist.start()
        # The CLI and the agents never need the credentials.
        hoist.env = {k: v for k, v in hoist.env.items()
                     if not k.startswith("AWS_")}
        return hoist


class S3SystemTest(S3TestCase):
    def setUp(self):
        super().setUp()
        self.argv_leaks = []

    def test_missing_bucket_stops_start(self):
        url = self.servers.url("t").replace("s3://%s/" % s3h.BUCKET,
                                            "s3://no-such-bucket/")
        hoist = Hoist(self, ["--storage", url])
        hoist.env = s3h.tool_env({k: v for k, v in hoist.env.items()
                                  if not k.startswith("AWS_")})
        self.addCleanup(hoist.cleanup)
        with self.assertRaises(AssertionError) as raised:
            hoist.start()
        message = str(raised.exception)
        self.assertIn("hoistd exited with 1", message)
        self.assertIn("cannot use the artifact store s3://no-such-bucket/t "
                      "(--storage)", message)
        self.assertIn("NoSuchBucket", message)

    def scan_argv(self, hoist):
        """Records each process of hoistd, its instances, agents and
        transfer children whose argv contains a test secret.  Other processes
        are left out: the S3 proxy gets the credentials in its argv, and
        other test runs on the machine use the same fake values."""
        for pid in [hoist.proc.pid] + hoist.instance_processes():
            argv = read_proc(pid, "cmdline")
            for secret in s3h.SECRETS:
                if secret.encode() in argv:
                    self.argv_leaks.append((pid, secret[:6]))
            if SIGNATURE.search(argv):
                self.argv_leaks.append((pid, "signature"))

    def wait_attempt(self, hoist, job_id, number, min_step):
        def check():
            self.scan_argv(hoist)
            job = hoist.job(job_id)
            if job["state"] in ("failed", "cancelled"):
                raise AssertionError("job ended early: %r\n%s"
                                     % (job, hoist.log()))
            if len(job["attempts"]) < number:
                return None
            attempt = job["attempts"][number - 1]
            if attempt["state"] != "running":
                return None
            return job if (attempt["last_step"] or 0) >= min_step else None
        return wait_for(check, 120, "attempt %d past step %d"
                        % (number, min_step), interval=0.3)

    def wait_end(self, hoist, job_id):
        def check():
            self.scan_argv(hoist)
            job = hoist.job(job_id)
            return job if job["state"] in ("succeeded", "failed",
                                           "cancelled") else None
        return wait_for(check, 300, "the job to end", interval=0.5)

    def agent_of(self, job_id, attempt):
        for pid in processes_with_env("HOIST_ATTEMPT", str(attempt)):
            if (process_name(pid) == "hoist-agent" and
                    pid in processes_with_env("HOIST_JOB_ID", job_id)):
                return pid
        return None

    def agent_token(self, pid):
        for item in read_proc(pid, "environ").split(b"\0"):
            if item.startswith(b"HOIST_AGENT_TOKEN="):
                return item.split(b"=", 1)[1].decode()
        return None

    def presign(self, hoist, token, body):
        req = urllib.request.Request(
            hoist.url + "/v1/agent/presign",
            data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": "Bearer " + token,
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def assert_no_secret_in_files(self, hoist, tokens=()):
        for root, _, names in os.walk(hoist.home):
            for name in names:
                path = os.path.join(root, name)
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                for secret in s3h.SECRETS:
                    self.assertNotIn(secret.encode(), data,
                                     "%s holds %s..." % (path, secret[:6]))
                self.assertIsNone(SIGNATURE.search(data),
                                  "%s holds a signature" % path)
                self.assertIsNone(CREDENTIAL.search(data),
                                  "%s holds a presigned credential" % path)
                if name.endswith(".log"):
                    for token in tokens:
                        self.assertNotIn(token.encode(), data,
                                         "%s holds an attempt token" % path)

    def test_preempted_job_resumes_from_s3(self):
        hoist = self.start_hoist("sys")
        job_file = write_job(hoist.home, "s3job", steps=160,
                             step_delay=0.04, ckpt_every=20)
        run = hoist.cli("run", job_file, "--detach", "--json")
        job_id = json.loads(run.stdout)["id"]
        cli_output = run.stdout + run.stderr

        job = self.wait_attempt(hoist, job_id, 1, 40)
        agent = wait_for(lambda: self.agent_of(job_id, 1), 10,
                         "the agent of attempt 1")
        agent_env = read_proc(agent, "environ")
        for secret in s3h.SECRETS:
            self.assertNotIn(secret.encode(), agent_env)
        self.assertNotIn(b"AWS_", agent_env)
        token = self.agent_token(agent)
        self.assertTrue(token)

        # The agent's token reaches its own prefix and nothing else.
        status, body = self.presign(hoist, token, {
            "method": "GET", "key": "jobs/%s/x" % job_id})
        self.assertEqual(status, 200, body)
        self.assertIn("X-Amz-Signature=", body["url"])
        for key in ("jobs/other-job/checkpoints/a1-s1/manifest.json",
                    "datasets/sha256/00", "jobs/%s" % job_id):
            status, body = self.presign(hoist, token,
                                        {"method": "PUT", "key": key})
            self.assertEqual(status, 403, (key, body))
        status, body = self.presign(hoist, token, {
            "method": "GET", "key": None,
            "query": {"list-type": "2", "prefix": "sys/jobs/"}})
        self.assertEqual(status, 403, body)
        status, body = self.presign(hoist, token, {
            "method": "GET", "key": "jobs/%s/x" % job_id,
            "query": {"x-id": "CopyObject"}})
        self.assertEqual(status, 403, body)
        self.assertIn("job=%s" % job_id, hoist.log())
        self.assertIn("outside jobs/%s/" % job_id, hoist.log())

        instance = job["attempts"][0]["instance_id"]
        out = hoist.cli("instances", "preempt", instance, "--grace", "8")
        cli_output += out.stdout + out.stderr
        self.wait_attempt(hoist, job_id, 2, 1)
        job = self.wait_end(hoist, job_id)
        self.assertEqual(job["state"], "succeeded", hoist.log())
        self.assertEqual(job["attempts"][0]["end_reason"], "preempted")
        self.assertEqual(job["attempts"][1]["resumed_from_step"],
                         job["attempts"][0]["last_step"])
        self.assertTrue(job["checkpoints"])

        # The checkpoints are in S3, behind the store's prefix.
        listing = s3h.tool("ls", self.servers.url("sys"),
                           "jobs/%s/checkpoints/" % job_id)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertIn("manifest.json", listing.stdout)
        self.assertGreater(self.servers.stats().get("presigned", 0), 0)

        # hoist ckpt lists the commits and pulls one, presigned by hoistd.
        listed = hoist.cli_json("ckpt", "ls", job_id)
        self.assertEqual([c["step"] for c in listed],
                         [c["step"] for c in job["checkpoints"]])
        table = hoist.cli("ckpt", "ls", job_id).stdout
        self.assertIn(listed[-1]["manifest_key"], table)
        target = os.path.join(hoist.home, "pulled")
        pulled = hoist.cli_json("ckpt", "pull", job_id,
                                str(listed[0]["step"]), target)
        self.assertEqual(pulled["step"], listed[0]["step"])
        self.assertTrue(os.listdir(target))
        latest = hoist.cli("ckpt", "pull", job_id, target + "-latest")
        self.assertIn("pulled step %d" % listed[-1]["step"], latest.stdout)
        missing = hoist.cli("ckpt", "pull", job_id, "999999",
                            target + "-missing", check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no committed checkpoint of step 999999",
                      missing.stderr)
        cli_output += table + latest.stdout + latest.stderr + missing.stderr

        logs = hoist.cli("logs", job_id)
        cli_output += logs.stdout + logs.stderr
        for secret in s3h.SECRETS:
            self.assertNotIn(secret, cli_output)
        self.assertNotIn(token, cli_output)
        self.assertEqual(self.argv_leaks, [])
        self.assert_no_secret_in_files(hoist, tokens=[token])


if __name__ == "__main__":
    unittest.main()

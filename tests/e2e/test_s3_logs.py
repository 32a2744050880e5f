"""End to end on S3: hoistd's copies of job logs and metrics in the store.

hoistd writes the copies on a writer thread of its own, below
jobs/<job>/logs/a<attempt>/ and jobs/<job>/metrics/a<attempt>/.  The tests
read them back from s3rver with tests/s3/s3_tool, through the
signature-checking proxy, and compare them with the job's output.  The
second test stops hoistd with SIGTERM right after a burst of output while
the proxy delays every PUT, so the copies are still queued when the signal
arrives and only the shutdown flush can store them.
"""

import json
import os
import re
import signal
import time
import unittest

from harness import PYTHON, SOURCE_DIR, wait_for
from test_s3 import S3TestCase, s3h

STEPS = 30
BURST_LINES = 4000
PUT_DELAY_MS = 1500

STEPS_SCRIPT = """\
import sys
import time

sys.path.insert(0, %(python_dir)r)
from hoist_contract import Run

run = Run()
for step in range(1, %(steps)d + 1):
    print("known line %%d of %(steps)d" %% step, flush=True)
    run.log(step, loss=1.0 / step)
    time.sleep(0.1)
"""

BURST_SCRIPT = """\
import os
import sys
import time

print("waiting for the go file", flush=True)
while not os.path.exists("go"):
    time.sleep(0.05)
for i in range(%(lines)d):
    sys.stdout.write("burst line %%06d %%s\\n" %% (i, "x" * 40))
sys.stdout.write("burst done\\n")
sys.stdout.flush()
time.sleep(300)
"""


def expected_steps_output():
    return "".join("known line %d of %d\n" % (step, STEPS)
                   for step in range(1, STEPS + 1))


class S3LogsTest(S3TestCase):
    def run_script(self, hoist, name, script):
        workdir = os.path.join(hoist.home, "work-" + name)
        os.makedirs(workdir)
        with open(os.path.join(workdir, "job.py"), "w") as f:
            f.write(script)
        path = os.path.join(hoist.home, name + ".yaml")
        with open(path, "w") as f:
            f.write("name: %s\n"
                    "profile: dev-test\n"
                    "workdir: %s\n"
                    "command: [%s, job.py]\n"
                    "retry: {max_failures: 1, max_attempts: 1}\n"
                    % (name, workdir, PYTHON))
        run = hoist.cli("run", path, "--detach", "--json")
        return json.loads(run.stdout)["id"], workdir

    def list_objects(self, prefix, folder):
        """Returns {key: size} of the objects below folder."""
        listing = s3h.tool("ls", self.servers.url(prefix), folder)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        objects = {}
        for line in listing.stdout.splitlines():
            size, key = line.split("\t", 1)
            objects[key] = int(size)
        return objects

    def read_object(self, prefix, key):
        got = s3h.tool("get-bytes", self.servers.url(prefix), key)
        self.assertEqual(got.returncode, 0, got.stderr)
        return got.stdout

    def stored_log(self, prefix, job_id):
        """Returns the concatenated log objects of attempt 1, checking
        that each one starts where the previous one ended."""
        folder = "jobs/%s/logs/a1/" % job_id
        stored = ""
        for key in sorted(self.list_objects(prefix, folder)):
            name = key[len(folder):]
            self.assertRegex(name, r"^[0-9]{20}\.log$")
            self.assertEqual(int(name[:20]), len(stored.encode()), key)
            stored += self.read_object(prefix, key)
        return stored

    def stored_size(self, prefix, job_id):
        return sum(self.list_objects(
            prefix, "jobs/%s/logs/a1/" % job_id).values())

    def test_copies_match_job_output(self):
        hoist = self.start_hoist("copies")
        job_id, _ = self.run_script(hoist, "steps", STEPS_SCRIPT % {
            "python_dir": os.path.join(SOURCE_DIR, "python"),
            "steps": STEPS})

        def ended():
            job = hoist.job(job_id)
            return job if job["state"] in ("succeeded", "failed",
                                           "cancelled") else None
        job = wait_for(ended, 180, "the job to end", interval=0.5)
        self.assertEqual(job["state"], "succeeded", hoist.log())

        # Once the instance is gone, hoist logs reads hoistd's local file.
        def instance_gone():
            return all(inst["state"] == "destroyed"
                       for inst in hoist.instances()
                       if inst["job_id"] == job_id)
        wait_for(instance_gone, 30, "the job's instance to be destroyed")
        expected = expected_steps_output()
        self.assertEqual(hoist.cli("logs", job_id).stdout, expected)

        wait_for(lambda: self.stored_size("copies", job_id) >=
                 len(expected.encode()), 15, "the whole log in S3")
        self.assertEqual(self.stored_log("copies", job_id), expected)

        folder = "jobs/%s/metrics/a1/" % job_id
        batches = sorted(self.list_objects("copies", folder))
        self.assertTrue(batches, "no metrics object in S3")
        steps = []
        for key in batches:
            self.assertRegex(key[len(folder):], r"^[0-9]{16}\.jsonl$")
            lines = self.read_object("copies", key).splitlines()
            self.assertTrue(lines, key)
            for line in lines:
                record = json.loads(line)
                self.assertIsInstance(record["time_ms"], int)
                self.assertIn("loss", record["metrics"])
                if record["step"] is not None:
                    steps.append(record["step"])
        self.assertTrue(steps, "no metrics line has a step")
        self.assertEqual(steps, sorted(steps))
        self.assertGreater(len(set(steps)), 1, steps)
        self.assertEqual(steps[-1], STEPS)
        self.assertNotIn("cannot store", hoist.log())

    def test_sigterm_flushes_queued_copies(self):
        hoist = self.start_hoist("sigterm")
        job_id, workdir = self.run_script(hoist, "burst", BURST_SCRIPT % {
            "lines": BURST_LINES})
        local_path = os.path.join(hoist.home, "logs", job_id, "a1.log")

        def local_log():
            try:
                with open(local_path) as f:
                    return f.read()
            except OSError:
                return ""
        wait_for(lambda: "waiting for the go file" in local_log(), 60,
                 "the job to start")
        # Every PUT now waits in the proxy, so the writer falls behind.
        self.servers.set_faults(delay=1.0, delay_ms=PUT_DELAY_MS,
                                only_methods=["PUT"])
        with open(os.path.join(workdir, "go"), "w"):
            pass
        wait_for(lambda: local_log().endswith("burst done\n"), 60,
                 "the burst in hoistd's local log", interval=0.02)

        hoist.proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        hoist.proc.wait(30)
        self.assertLess(time.monotonic() - started, 20, hoist.log())
        self.servers.set_faults()

        log = hoist.log()
        self.assertRegex(log, r"stored the [0-9]+ queued bytes of logs "
                         r"and metrics before stopping")
        self.assertNotIn("from the artifact store copy", log)
        self.assertNotIn("waiting for the artifact store writer", log)
        local = local_log()
        self.assertEqual(len(re.findall(r"^burst line ", local, re.M)),
                         BURST_LINES)
        self.assertEqual(self.stored_log("sigterm", job_id), local)


if __name__ == "__main__":
    unittest.main()

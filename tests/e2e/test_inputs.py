"""End to end: "hoist run" stages a job's inputs to the artifact store,
the agent restores them before the command starts and uploads the job's
outputs after it exits 0.  Runs on file:// storage.
"""

import datetime
import json
import os
import re
import sys
import unittest

from harness import Hoist, wait_for

SCRIPT = """\
import os
with open(os.path.join("data", "text.txt")) as f:
    text = f.read()
with open(os.path.join("data", "nested", "count.txt")) as f:
    count = int(f.read())
os.makedirs("out", exist_ok=True)
with open(os.path.join("out", "result.txt"), "w") as f:
    f.write(text.upper() * count)
"""


def parse_time(text):
    """Returns the seconds since the epoch of an RFC 3339 UTC time."""
    return datetime.datetime.fromisoformat(
        text.replace("Z", "+00:00")).timestamp()


def dataset_objects(artifacts):
    """Returns {relative path: mtime in ns} of every object under
    datasets/ of a file:// store."""
    found = {}
    root = os.path.join(artifacts, "datasets")
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = os.stat(path).st_mtime_ns
    return found


class InputsTest(unittest.TestCase):
    def write_job(self, hoist):
        data = os.path.join(hoist.home, "data-src")
        os.makedirs(os.path.join(data, "nested"))
        with open(os.path.join(data, "text.txt"), "w") as f:
            f.write("hello inputs\n")
        with open(os.path.join(data, "nested", "count.txt"), "w") as f:
            f.write("3")
        workdir = os.path.join(hoist.home, "job")
        os.makedirs(workdir)
        with open(os.path.join(workdir, "job.py"), "w") as f:
            f.write(SCRIPT)
        path = os.path.join(hoist.home, "inputs.yaml")
        with open(path, "w") as f:
            f.write("name: inputs\n"
                    "profile: dev-test\n"
                    "workdir: %s\n"
                    "command: [%s, job.py]\n"
                    "inputs:\n"
                    "  - {from: %s, to: data}\n"
                    "outputs: [out]\n"
                    % (workdir, sys.executable, data))
        return path, workdir

    def run_job(self, hoist, job_file):
        job = hoist.cli_json("run", job_file)
        self.assertEqual(job["state"], "succeeded", hoist.log())
        return job

    def test_inputs_staged_and_outputs_uploaded(self):
        hoist = Hoist(self)
        self.addCleanup(hoist.cleanup)
        hoist.start()
        artifacts = os.path.join(hoist.home, "artifacts")
        job_file, workdir = self.write_job(hoist)

        job = self.run_job(hoist, job_file)
        first = dataset_objects(artifacts)
        # Two files and one manifest.
        self.assertEqual(len([k for k in first if k.startswith("sha256")]),
                         2, first)
        manifests = [k for k in first if k.startswith("manifests")]
        self.assertEqual(len(manifests), 1, first)
        with open(os.path.join(artifacts, "datasets", manifests[0])) as f:
            manifest = json.load(f)
        self.assertEqual([e["path"] for e in manifest["files"]],
                         ["nested/count.txt", "text.txt"])

        output = os.path.join(artifacts, "jobs", job["id"], "outputs",
                              "out", "result.txt")
        wait_for(lambda: os.path.exists(output), 10, "the output object")
        with open(output) as f:
            self.assertEqual(f.read(), "HELLO INPUTS\n" * 3)

        show_output = hoist.cli("show", job["id"]).stdout
        self.assertRegex(show_output, r"\ninputs: +\S+/data-src -> data\n")
        self.assertRegex(show_output, r"\noutputs: +out\n")

        # hoist outputs lists the stored outputs and downloads them, and
        # replaces nothing without --force.
        listing = hoist.cli("outputs", job["id"]).stdout
        self.assertRegex(listing, r"^ +39  out/result\.txt\n$")
        fetched = os.path.join(hoist.home, "fetched")
        summary = hoist.cli_json("outputs", job["id"], fetched)
        self.assertEqual(summary["files"],
                         [{"path": "out/result.txt", "size": 39}])
        with open(os.path.join(fetched, "out", "result.txt")) as f:
            self.assertEqual(f.read(), "HELLO INPUTS\n" * 3)
        again = hoist.cli("outputs", job["id"], fetched, check=False)
        self.assertEqual(again.returncode, 1, again.stdout)
        self.assertIn("result.txt' exists; pass --force", again.stderr)
        hoist.cli("outputs", job["id"], fetched, "--force")

        # The same inputs again: nothing new is uploaded.
        again = self.run_job(hoist, job_file)
        self.assertNotEqual(again["id"], job["id"])
        self.assertEqual(dataset_objects(artifacts), first)
        self.assertTrue(os.path.exists(os.path.join(
            artifacts, "jobs", again["id"], "outputs", "out",
            "result.txt")))

    def test_large_input_shows_progress(self):
        hoist = Hoist(self)
        self.addCleanup(hoist.cleanup)
        hoist.start()
        job_file, _ = self.write_job(hoist)
        with open(os.path.join(hoist.home, "data-src", "big.bin"),
                  "wb") as f:
            f.write(os.urandom(17 << 20))
        result = hoist.cli("run", job_file, "--detach")
        self.assertIn("uploading big.bin: 17.0 / 17.0 MiB (100%)",
                      result.stderr)
        # Small files get no progress line.
        self.assertNotIn("uploading text.txt", result.stderr)

    def test_missing_output_error_shown(self):
        hoist = Hoist(self)
        self.addCleanup(hoist.cleanup)
        hoist.start()
        job_file, _ = self.write_job(hoist)
        with open(job_file) as f:
            text = f.read()
        with open(job_file, "w") as f:
            f.write(text.replace("outputs: [out]", "outputs: [nothere.bin]"))
        result = hoist.cli("run", job_file, check=False, timeout=120)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertRegex(result.stdout, r"attempt 1 error: .*nothere\.bin")
        job_id = re.search(r"job (j-[0-9a-f]{8})", result.stdout).group(1)
        record = hoist.job(job_id)
        self.assertIn("nothere.bin", record["attempts"][0]["error"])
        show_output = hoist.cli("show", job_id).stdout
        self.assertRegex(show_output, r"attempt 1 error: .*nothere\.bin")

        # Each failed attempt delays the next one, twice as long as the
        # one before (the harness sets --retry-delay-ms 300).
        log = hoist.log()
        self.assertIn("job=%s next attempt in 300 ms after 1 failed "
                      "attempt" % job_id, log)
        self.assertIn("job=%s next attempt in 600 ms after 2 failed "
                      "attempts" % job_id, log)
        attempts = record["attempts"]
        self.assertEqual(len(attempts), 3)
        for before, after, delay in ((attempts[0], attempts[1], 0.3),
                                     (attempts[1], attempts[2], 0.6)):
            gap = (parse_time(after["created_at"]) -
                   parse_time(before["ended_at"]))
            self.assertGreaterEqual(gap, delay - 0.05,
                                    (before, after))

    def test_invalid_s3_bucket_stops_submit(self):
        hoist = Hoist(self)
        self.addCleanup(hoist.cleanup)
        hoist.start()
        job_file, _ = self.write_job(hoist)
        with open(job_file) as f:
            text = f.read()
        with open(job_file, "w") as f:
            f.write(text.replace("to: data}",
                                 "to: data}\n  - {from: s3://b/p, to: t}"))
        result = hoist.cli("run", job_file, check=False)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("s3://b/p", result.stderr)
        self.assertIn("invalid bucket name 'b'", result.stderr)
        jobs = hoist.cli("jobs", "--json")
        self.assertEqual(json.loads(jobs.stdout)["jobs"], [],
                         jobs.stdout)


if __name__ == "__main__":
    unittest.main()

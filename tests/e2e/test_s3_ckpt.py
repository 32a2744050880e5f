"""End to end: "hoist ckpt push" uploads a folder as a committed
checkpoint, and "hoist ckpt pull" returns the same bytes.

Runs on file:// storage, and on s3:// storage against s3rver behind the
signature-checking proxy of tests/s3/ (presigned by hoistd) when s3rver
is installed or tests/s3/setup.sh can install it.
"""

import filecmp
import importlib.util
import json
import os
import unittest

from harness import SOURCE_DIR, Hoist, wait_for, write_job

_spec = importlib.util.spec_from_file_location(
    "s3_harness", os.path.join(SOURCE_DIR, "tests", "s3", "harness.py"))
s3h = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(s3h)


def make_tree(root):
    """Writes a small checkpoint folder with a nested file and an empty
    file, and returns its path."""
    os.makedirs(os.path.join(root, "opt"))
    with open(os.path.join(root, "weights.bin"), "wb") as f:
        f.write(os.urandom(3 * 1024 * 1024 + 17))
    with open(os.path.join(root, "opt", "state.json"), "w") as f:
        json.dump({"lr": 0.05, "step": 7}, f)
    open(os.path.join(root, "empty"), "wb").close()
    return root


def same_tree(test, left, right):
    compared = filecmp.dircmp(left, right)
    test.assertEqual(compared.left_only, [])
    test.assertEqual(compared.right_only, [])
    for name in ("weights.bin", "empty", os.path.join("opt", "state.json")):
        test.assertTrue(filecmp.cmp(os.path.join(left, name),
                                    os.path.join(right, name),
                                    shallow=False), name)


class CkptPushTest(unittest.TestCase):
    def finished_job(self, hoist):
        job_file = write_job(hoist.home, "pushjob", steps=20,
                             step_delay=0.0, ckpt_every=10)
        job_id = hoist.cli_json("run", job_file, "--detach")["id"]
        wait_for(lambda: hoist.job(job_id)["state"] in
                 ("succeeded", "failed", "cancelled"), 120,
                 "job %s to end" % job_id)
        job = hoist.job(job_id)
        self.assertEqual(job["state"], "succeeded", hoist.log())
        return job

    def check_push_pull(self, hoist):
        job = self.finished_job(hoist)
        job_id = job["id"]
        last = max([c["step"] for c in job["checkpoints"]] + [-1])
        source = make_tree(os.path.join(hoist.home, "source"))

        pushed = hoist.cli_json("ckpt", "push", job_id, source)
        self.assertEqual(pushed["step"], last + 1)
        self.assertEqual(pushed["files"], 3)
        self.assertEqual(pushed["bytes"], 3 * 1024 * 1024 + 17 +
                         os.path.getsize(os.path.join(source, "opt",
                                                      "state.json")))

        # The job's record lists the pushed checkpoint.
        listed = hoist.cli_json("ckpt", "ls", job_id)
        mine = [c for c in listed if c["step"] == pushed["step"]]
        self.assertEqual(len(mine), 1, listed)
        self.assertEqual(mine[0]["manifest_key"], pushed["manifest_key"])
        self.assertEqual(mine[0]["files"], 3)

        target = os.path.join(hoist.home, "pulled")
        pulled = hoist.cli("ckpt", "pull", job_id, str(pushed["step"]),
                           target)
        same_tree(self, source, target)
        # stdout is a pipe here, so the progress comes as plain lines.
        self.assertIn("pulled 3.0 / 3.0 MiB (100%)", pulled.stdout)
        # Off a terminal the final count is one line, never repeated.
        self.assertEqual(pulled.stdout.count("pulled 3.0 / 3.0 MiB (100%)"),
                         1, pulled.stdout)
        self.assertNotIn("\r", pulled.stdout)

        # --step must be above the newest step; a higher one is kept.
        low = hoist.cli("ckpt", "push", job_id, source, "--step",
                        str(pushed["step"]), check=False)
        self.assertEqual(low.returncode, 1)
        self.assertIn("is not above step %d" % pushed["step"], low.stderr)
        high = hoist.cli("ckpt", "push", job_id, source, "--step",
                         str(pushed["step"] + 100))
        self.assertIn("as step %d" % (pushed["step"] + 100), high.stdout)
        self.assertIn("pushed 3.0 / 3.0 MiB (100%)", high.stdout)
        latest = hoist.cli_json("ckpt", "pull", job_id, target + "-2")
        self.assertEqual(latest["step"], pushed["step"] + 100)
        same_tree(self, source, target + "-2")

        missing = hoist.cli("ckpt", "push", job_id,
                            os.path.join(hoist.home, "nowhere"),
                            check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("nowhere", missing.stderr)
        self.assertIn("pushed by the CLI", hoist.log())
        self.check_dir_guards(hoist, job_id, source, target)

    def check_dir_guards(self, hoist, job_id, source, target):
        """A pull keeps a non-empty DIR unless --force is given, and a
        push of a folder without files commits nothing."""
        steps = [c["step"] for c in hoist.cli_json("ckpt", "ls", job_id)]
        with open(os.path.join(target, "notes.txt"), "w") as f:
            f.write("keep me\n")
        not_empty = hoist.cli("ckpt", "pull", job_id, target, check=False)
        self.assertEqual(not_empty.returncode, 1)
        self.assertIn("DIR '%s' is not empty" % target, not_empty.stderr)
        self.assertNotIn("pulling", not_empty.stderr)
        self.assertTrue(os.path.exists(os.path.join(target, "notes.txt")))

        forced = hoist.cli("ckpt", "pull", job_id, target, "--force")
        self.assertIn("3 files, ", forced.stdout)
        same_tree(self, source, target)

        empty = os.path.join(hoist.home, "empty-push")
        os.makedirs(os.path.join(empty, "nested"))
        rejected = hoist.cli("ckpt", "push", job_id, empty, check=False)
        self.assertEqual(rejected.returncode, 1)
        self.assertIn("DIR '%s' contains no regular file" % empty,
                      rejected.stderr)
        self.assertEqual([c["step"] for c in
                          hoist.cli_json("ckpt", "ls", job_id)], steps)

        single = os.path.join(hoist.home, "single")
        os.makedirs(single)
        with open(os.path.join(single, "w.bin"), "wb") as f:
            f.write(b"x")
        pushed = hoist.cli("ckpt", "push", job_id, single)
        self.assertIn(": 1 file, 1 byte in ", pushed.stdout)
        self.assertIn("(1 byte)", pushed.stderr)

    def test_push_pull_file_storage(self):
        hoist = Hoist(self)
        self.addCleanup(hoist.cleanup)
        hoist.start()
        self.check_push_pull(hoist)

    def test_push_pull_s3_storage(self):
        if not os.path.exists(s3h.S3RVER):
            s3h.run_setup()
        servers = s3h.Servers("ckptpush")
        self.addCleanup(servers.stop)
        hoist = Hoist(self, ["--storage", servers.url("push")])
        hoist.env = s3h.tool_env({k: v for k, v in hoist.env.items()
                                  if not k.startswith("AWS_")})
        self.addCleanup(hoist.cleanup)
        hoist.start()
        # The CLI gets presigned URLs from hoistd, never the credentials.
        hoist.env = {k: v for k, v in hoist.env.items()
                     if not k.startswith("AWS_")}
        self.check_push_pull(hoist)
        self.assertGreater(servers.stats().get("presigned", 0), 0)


if __name__ == "__main__":
    unittest.main()

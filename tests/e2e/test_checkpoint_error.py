"""End to end: while the agent cannot upload checkpoints, the job record
carries the upload error and hoistd logs it with the job's id.  Runs on
file:// storage, where a regular file in place of the job's checkpoints
folder makes every upload fail.
"""

import os
import unittest

from harness import HoistTestCase, wait_for, write_job


class CheckpointErrorTest(HoistTestCase):
    def test_upload_error_in_record(self):
        hoist = self.start_hoist()
        job_file = write_job(hoist.home, "ckpt-error", steps=2000,
                             step_delay=0.02, ckpt_every=10)
        job_id = hoist.cli_json("run", job_file, "--detach")["id"]
        blocker = os.path.join(hoist.home, "artifacts", "jobs", job_id,
                               "checkpoints")
        os.makedirs(os.path.dirname(blocker), exist_ok=True)
        with open(blocker, "w") as f:
            f.write("not a folder\n")

        def failing():
            job = hoist.job(job_id)
            if job["state"] in ("failed", "cancelled", "succeeded"):
                raise AssertionError("job ended before an upload "
                                     "error appeared: %r" % job)
            return job.get("checkpoint_error")

        error = wait_for(failing, 60, "a checkpoint error in the record")
        self.assertIn("upload of step", error)
        show_output = hoist.cli("show", job_id).stdout
        self.assertIn("upload error:", show_output)
        self.assertIn("upload of step", show_output)
        self.assertIn(job_id, hoist.log())
        self.assertRegex(hoist.log(), r"job=%s attempt=1 checkpoint "
                         r"upload failing: upload of step \d+ failed"
                         % job_id)

        # Once uploads work again, a commit clears the error.
        os.unlink(blocker)
        wait_for(lambda: "checkpoint_error" not in hoist.job(job_id), 60,
                 "the checkpoint error to clear")
        self.assertIn("job=%s attempt=1 checkpoint uploads work again"
                      % job_id, hoist.log())
        self.assertGreater(len(hoist.job(job_id)["checkpoints"]), 0)
        hoist.cli("cancel", job_id)


if __name__ == "__main__":
    unittest.main()

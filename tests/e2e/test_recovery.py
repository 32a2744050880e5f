"""End to end: the example job survives preemptions, a killed agent and a
killed hoistd, and a zombie attempt is fenced."""

import os
import signal
import time
import unittest

from harness import (HoistTestCase, loss_curve, process_name,
                     processes_with_env, all_pids, session_of, wait_for,
                     write_job)

# The smoothed loss of the example moves by well under this between two
# logged steps; a restart from scratch would jump back up by far more.
LOSS_MARGIN = 0.15


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class RecoveryTest(HoistTestCase):
    def submit(self, hoist, job_file):
        record = hoist.cli_json("run", job_file, "--detach")
        return record["id"]

    def running_attempt(self, hoist, job_id, number, min_step=0):
        """Waits until attempt number runs and reports min_step."""
        def check():
            job = hoist.job(job_id)
            if job["state"] in ("failed", "cancelled"):
                raise AssertionError("job ended early: %r\n%s"
                                     % (job, hoist.log()))
            attempts = job["attempts"]
            if len(attempts) < number:
                return None
            attempt = attempts[number - 1]
            if attempt["state"] != "running":
                return None
            step = attempt["last_step"] or 0
            return job if step >= min_step else None
        return wait_for(check, 120, "attempt %d to run past step %d"
                        % (number, min_step), interval=0.3)

    def live_instance(self, hoist, job_id, number):
        job = hoist.job(job_id)
        instance_id = job["attempts"][number - 1]["instance_id"]
        self.assertTrue(instance_id, "attempt %d has no instance" % number)
        return instance_id

    def agent_pid(self, hoist, job_id, attempt):
        for pid in processes_with_env("HOIST_ATTEMPT", str(attempt)):
            if (process_name(pid) == "hoist-agent" and
                    pid in processes_with_env("HOIST_JOB_ID", job_id)):
                return pid
        return None

    def job_processes(self, hoist, job_id):
        pids = set(processes_with_env("HOIST_JOB_ID", job_id))
        instances = os.path.join(hoist.home, "local", "instances")
        pids.update(pid for pid in all_pids() if instances in cmdline(pid))
        return sorted(pid for pid in pids if pid != os.getpid())

    def attempt_log(self, hoist, job_id, number):
        return hoist.cli("logs", job_id, "--attempt", str(number)).stdout

    def assert_no_overlap(self, attempts):
        for before, after in zip(attempts, attempts[1:]):
            self.assertIsNotNone(before["ended_at"],
                                 "attempt %d never ended" % before["number"])
            if after["started_at"]:
                self.assertLessEqual(
                    before["ended_at"], after["started_at"],
                    "attempt %d started before attempt %d ended"
                    % (after["number"], before["number"]))

    def assert_resumed_from_last_checkpoint(self, hoist, job_id, job):
        """Checks each resume against the committed checkpoints."""
        attempts = job["attempts"]
        for before, after in zip(attempts, attempts[1:]):
            if not after["started_at"]:
                continue
            self.assertIsNotNone(after["resumed_from_step"],
                                 "attempt %d started fresh" % after["number"])
            if before["end_reason"] == "preempted":
                # The final checkpoint flushed on SIGTERM: no step lost.
                self.assertEqual(after["resumed_from_step"],
                                 before["last_step"],
                                 "attempt %d lost steps after a graceful "
                                 "preemption" % after["number"])

    def assert_loss_continues(self, hoist, job_id, job):
        attempts = job["attempts"]
        for before, after in zip(attempts, attempts[1:]):
            if not after["started_at"] or not after["resumed_from_step"]:
                continue
            start = after["resumed_from_step"]
            old = [(s, l) for s, l in
                   loss_curve(self.attempt_log(hoist, job_id,
                                               before["number"]))
                   if s <= start]
            # The first line after a resume repeats the restored loss;
            # compare with the first step actually trained again.
            new = [(s, l) for s, l in
                   loss_curve(self.attempt_log(hoist, job_id,
                                               after["number"]))
                   if s > start]
            if not old or not new:
                continue
            self.assertLess(abs(new[0][1] - old[-1][1]), LOSS_MARGIN,
                            "loss jumped from %.3f (step %d) to %.3f "
                            "(step %d) across the resume of attempt %d"
                            % (old[-1][1], old[-1][0], new[0][1], new[0][0],
                               after["number"]))

    def test_job_survives_every_fault(self):
        hoist = self.start_hoist()
        job_file = write_job(hoist.home, "survivor", steps=400,
                             step_delay=0.04, ckpt_every=25)
        job_id = self.submit(hoist, job_file)

        # Two preemptions with grace: the agent flushes a final checkpoint.
        for number in (1, 2):
            self.running_attempt(hoist, job_id, number, min_step=40 * number)
            instance = self.live_instance(hoist, job_id, number)
            hoist.cli("instances", "preempt", instance, "--grace", "8")

        # The agent dies without grace: heartbeats stop, the instance exits.
        self.running_attempt(hoist, job_id, 3, min_step=150)
        agent = wait_for(lambda: self.agent_pid(hoist, job_id, 3), 10,
                         "the agent of attempt 3")
        os.kill(agent, signal.SIGKILL)

        # hoistd dies too and comes back on the same home.
        self.running_attempt(hoist, job_id, 4, min_step=200)
        hoist.kill9()
        time.sleep(1)
        hoist.start()

        job = wait_for(lambda: (lambda j: j if j["state"] in
                                ("succeeded", "failed", "cancelled")
                                else None)(hoist.job(job_id)),
                       300, "the job to end", interval=0.5)
        self.assertEqual(job["state"], "succeeded", hoist.log())
        self.assertEqual(job["end_reason"], "completed")
        self.assertEqual(job["last_step"], 400)
        reasons = [a["end_reason"] for a in job["attempts"]]
        self.assertEqual(reasons[:3], ["preempted", "preempted", "lost"])
        self.assertEqual(reasons[-1], "completed")
        self.assertEqual(len({a["instance_id"] for a in job["attempts"]}),
                         len(job["attempts"]),
                         "an instance served two attempts")
        self.assert_no_overlap(job["attempts"])
        self.assert_resumed_from_last_checkpoint(hoist, job_id, job)
        self.assert_loss_continues(hoist, job_id, job)
        self.assertGreater(job["cost_usd"], 0)

        wait_for(lambda: not [i for i in hoist.instances()
                              if i["job_id"] == job_id],
                 30, "every instance of the job to be destroyed")
        wait_for(lambda: not self.job_processes(hoist, job_id), 30,
                 "every process of the job to exit")

    def test_zombie_attempt_is_fenced(self):
        hoist = self.start_hoist()
        job_file = write_job(hoist.home, "zombie", steps=300,
                             step_delay=0.04, ckpt_every=20)
        job_id = self.submit(hoist, job_file)
        self.running_attempt(hoist, job_id, 1, min_step=30)
        old_instance = self.live_instance(hoist, job_id, 1)
        old_agent = wait_for(lambda: self.agent_pid(hoist, job_id, 1), 10,
                             "the agent of attempt 1")

        # Unreachable and impossible to destroy: hoistd must move on.
        hoist.cli("instances", "fault", old_instance, "block-destroy")
        hoist.cli("instances", "fault", old_instance, "freeze")
        job = self.running_attempt(hoist, job_id, 2, min_step=1)
        lost_at = job["attempts"][0]["ended_at"]
        self.assertEqual(job["attempts"][0]["end_reason"], "lost")
        self.assertNotEqual(job["attempts"][1]["instance_id"], old_instance)
        self.assertIn(old_instance, [i["id"] for i in hoist.instances()],
                      "the blocked instance should still be tracked")

        # The zombie wakes up: its token is revoked, so it must stop.
        hoist.cli("instances", "fault", old_instance, "thaw")
        wait_for(lambda: not os.path.exists("/proc/%d" % old_agent) or
                 process_name(old_agent) != "hoist-agent", 30,
                 "the fenced agent to exit")
        job = hoist.job(job_id)
        for ckpt in job["checkpoints"]:
            if ckpt["attempt"] == 1:
                self.assertLessEqual(ckpt["committed_at"], lost_at,
                                     "the zombie committed a checkpoint")

        # Once destroying works again, hoistd finishes the job off.
        hoist.cli("instances", "fault", old_instance, "allow-destroy")
        wait_for(lambda: old_instance not in
                 [i["id"] for i in hoist.instances()], 30,
                 "hoistd to destroy the zombie instance")
        job = wait_for(lambda: (lambda j: j if j["state"] in
                                ("succeeded", "failed", "cancelled")
                                else None)(hoist.job(job_id)),
                       300, "the job to end", interval=0.5)
        self.assertEqual(job["state"], "succeeded", hoist.log())
        self.assertIn("job=%s attempt 1 is fenced" % job_id, hoist.log())
        with open(os.path.join(hoist.home, "local", "instances",
                               old_instance, "instance.log")) as f:
            self.assertIn("fenced", f.read(),
                          "the zombie agent did not report its fencing")


if __name__ == "__main__":
    unittest.main()

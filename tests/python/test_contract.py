"""Tests of python/hoist_contract.py: environment, checkpoints, SIGTERM, metrics.

Run with: /usr/bin/python3 -m unittest discover -s tests/python
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from pathlib import Path
from unittest import mock

PYTHON_DIR = Path(__file__).resolve().parents[2] / "python"
sys.path.insert(0, str(PYTHON_DIR))

import hoist_contract  # noqa: E402
from hoist_contract import Resume, Run  # noqa: E402


class FakeClock:
    """Clock for the checkpoint interval whose time a test sets directly."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ContractTestCase(unittest.TestCase):
    """Base class with a temporary folder and an agent-like environment."""

    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self._tmp.cleanup)
        self.root = Path(self._tmp.name)
        self.checkpoints = self.root / "checkpoints"
        self.checkpoints.mkdir()
        self.metrics = self.root / "metrics.jsonl"

    def hoist_env(self, **overrides: str) -> dict[str, str]:
        """Return the environment hoist-agent gives a fresh attempt."""
        env = {
            "HOIST_JOB_ID": "j-3f9a2c1d",
            "HOIST_ATTEMPT": "1",
            "HOIST_CHECKPOINT_DIR": str(self.checkpoints),
            "HOIST_RESUME_DIR": "",
            "HOIST_RESUME_STEP": "",
            "HOIST_METRICS_FILE": str(self.metrics),
            "HOIST_CHECKPOINT_INTERVAL": "30",
        }
        env.update(overrides)
        return env

    def make_run(self, env: dict[str, str] | None = None,
                 **kwargs: object) -> Run:
        kwargs.setdefault("handle_sigterm", False)
        run = Run(self.hoist_env() if env is None else env, **kwargs)
        self.addCleanup(run.close)
        return run


class EnvironmentTest(ContractTestCase):

    def test_fresh_attempt(self) -> None:
        run = self.make_run()
        self.assertFalse(run.local)
        self.assertEqual(run.job_id, "j-3f9a2c1d")
        self.assertEqual(run.attempt, 1)
        self.assertEqual(run.checkpoint_dir, self.checkpoints)
        self.assertEqual(run.metrics_file, self.metrics)
        self.assertEqual(run.checkpoint_interval, 30.0)
        self.assertIsNone(run.resume())
        self.assertEqual(run.start_step, 0)
        self.assertIsNone(run.last_checkpoint_step)

    def test_resumed_attempt(self) -> None:
        restored = self.root / "restore"
        restored.mkdir()
        run = self.make_run(self.hoist_env(
            HOIST_ATTEMPT="3", HOIST_RESUME_DIR=str(restored),
            HOIST_RESUME_STEP="250", HOIST_CHECKPOINT_INTERVAL="2.5"))
        self.assertEqual(run.attempt, 3)
        self.assertEqual(run.resume(), Resume(dir=restored, step=250))
        self.assertEqual(run.start_step, 250)
        self.assertEqual(run.checkpoint_interval, 2.5)

    def test_resume_step_zero(self) -> None:
        restored = self.root / "restore"
        restored.mkdir()
        run = self.make_run(self.hoist_env(
            HOIST_RESUME_DIR=str(restored), HOIST_RESUME_STEP="0"))
        self.assertEqual(run.resume(), Resume(dir=restored, step=0))

    def test_malformed_values(self) -> None:
        restored = self.root / "restore"
        restored.mkdir()
        cases = [
            ("HOIST_RESUME_STEP", {"HOIST_RESUME_STEP": "abc"}),
            ("HOIST_RESUME_STEP", {"HOIST_RESUME_STEP": "-1"}),
            ("HOIST_RESUME_STEP", {"HOIST_RESUME_STEP": "2.5"}),
            ("HOIST_RESUME_STEP", {"HOIST_RESUME_STEP": "0x10"}),
            ("HOIST_RESUME_DIR", {"HOIST_RESUME_STEP": "10",
                                  "HOIST_RESUME_DIR": ""}),
            ("HOIST_RESUME_STEP", {"HOIST_RESUME_STEP": "",
                                   "HOIST_RESUME_DIR": str(restored)}),
            ("HOIST_RESUME_DIR", {"HOIST_RESUME_STEP": "10",
                                  "HOIST_RESUME_DIR":
                                      str(self.root / "missing")}),
            ("HOIST_ATTEMPT", {"HOIST_ATTEMPT": "0"}),
            ("HOIST_ATTEMPT", {"HOIST_ATTEMPT": "two"}),
            ("HOIST_CHECKPOINT_INTERVAL", {"HOIST_CHECKPOINT_INTERVAL": "x"}),
            ("HOIST_CHECKPOINT_INTERVAL", {"HOIST_CHECKPOINT_INTERVAL": "0"}),
            ("HOIST_CHECKPOINT_INTERVAL",
             {"HOIST_CHECKPOINT_INTERVAL": "-30"}),
            ("HOIST_CHECKPOINT_INTERVAL",
             {"HOIST_CHECKPOINT_INTERVAL": "nan"}),
            ("HOIST_CHECKPOINT_INTERVAL",
             {"HOIST_CHECKPOINT_INTERVAL": "inf"}),
        ]
        for variable, overrides in cases:
            if "HOIST_RESUME_STEP" in overrides \
                    and "HOIST_RESUME_DIR" not in overrides:
                overrides = dict(overrides, HOIST_RESUME_DIR=str(restored))
            with self.subTest(**overrides):
                with self.assertRaises(ValueError) as caught:
                    Run(self.hoist_env(**overrides), handle_sigterm=False)
                self.assertIn(variable, str(caught.exception))

    def test_missing_values_under_hoist(self) -> None:
        for variable in ("HOIST_CHECKPOINT_DIR", "HOIST_METRICS_FILE",
                         "HOIST_CHECKPOINT_INTERVAL"):
            with self.subTest(variable=variable):
                env = self.hoist_env()
                del env[variable]
                with self.assertRaises(ValueError) as caught:
                    Run(env, handle_sigterm=False)
                self.assertIn(variable, str(caught.exception))

    def test_local_defaults(self) -> None:
        local = self.root / "local"
        run = self.make_run({}, local_dir=local)
        self.assertTrue(run.local)
        self.assertEqual(run.job_id, "")
        self.assertEqual(run.attempt, 1)
        self.assertEqual(run.checkpoint_dir, local / "checkpoints")
        self.assertEqual(run.metrics_file, local / "metrics.jsonl")
        self.assertEqual(run.checkpoint_interval,
                         hoist_contract.DEFAULT_INTERVAL_SECONDS)
        self.assertIsNone(run.resume())

    def test_local_resumes_newest_step(self) -> None:
        local = self.root / "local"
        folder = local / "checkpoints"
        for name in ("step-2", "step-10", "step-9", ".tmp-step-11-42",
                     "step-x", "step-012"):
            (folder / name).mkdir(parents=True)
        (folder / "step-20").write_text("a file, not a checkpoint folder")
        run = self.make_run({}, local_dir=local)
        self.assertEqual(run.resume(), Resume(dir=folder / "step-10",
                                              step=10))
        self.assertEqual(run.start_step, 10)


class CheckpointTest(ContractTestCase):

    def test_rename_after_block(self) -> None:
        run = self.make_run()
        with run.checkpoint(7) as folder:
            self.assertEqual(folder.parent, self.checkpoints)
            self.assertTrue(folder.name.startswith("."))
            self.assertTrue(folder.is_dir())
            self.assertFalse((self.checkpoints / "step-7").exists())
            (folder / "weights.bin").write_bytes(b"\x01\x02")
            (folder / "optimizer").mkdir()
            (folder / "optimizer" / "state.json").write_text("{}")
            self.assertFalse((self.checkpoints / "step-7").exists())

        self.assertEqual(sorted(os.listdir(self.checkpoints)), ["step-7"])
        published = self.checkpoints / "step-7"
        self.assertEqual((published / "weights.bin").read_bytes(), b"\x01\x02")
        self.assertEqual((published / "optimizer" / "state.json").read_text(),
                         "{}")
        self.assertEqual(run.last_checkpoint_step, 7)

    def test_exception_removes_folder(self) -> None:
        run = self.make_run()
        with self.assertRaisesRegex(RuntimeError, "disk full"):
            with run.checkpoint(3) as folder:
                (folder / "partial.bin").write_bytes(b"x" * 100)
                raise RuntimeError("disk full")
        self.assertEqual(os.listdir(self.checkpoints), [])
        self.assertIsNone(run.last_checkpoint_step)

        with run.checkpoint(3) as folder:
            (folder / "weights.bin").write_bytes(b"ok")
        self.assertEqual(os.listdir(self.checkpoints), ["step-3"])

    def test_existing_step_rejected(self) -> None:
        run = self.make_run()
        (self.checkpoints / "step-5").mkdir()
        with self.assertRaisesRegex(FileExistsError, "step-5"):
            with run.checkpoint(5):
                self.fail("the block must not run")
        self.assertEqual(os.listdir(self.checkpoints), ["step-5"])

    def test_symlink_rejected(self) -> None:
        run = self.make_run()
        target = self.root / "outside.bin"
        target.write_bytes(b"data")
        with self.assertRaisesRegex(ValueError, "link.bin"):
            with run.checkpoint(4) as folder:
                (folder / "link.bin").symlink_to(target)
        self.assertEqual(os.listdir(self.checkpoints), [])

    def test_invalid_step_rejected(self) -> None:
        run = self.make_run()
        for step in (-1, 1.5, "3", True):
            with self.subTest(step=step):
                with self.assertRaises(ValueError):
                    with run.checkpoint(step):
                        self.fail("the block must not run")

    def test_created_checkpoint_dir(self) -> None:
        run = self.make_run(self.hoist_env(
            HOIST_CHECKPOINT_DIR=str(self.root / "new" / "ckpt")))
        with run.checkpoint(1) as folder:
            (folder / "a").write_text("a")
        self.assertTrue((self.root / "new" / "ckpt" / "step-1" / "a")
                        .is_file())

    def test_fsync_order(self) -> None:
        """Files and folders are synced before the rename, the parent after."""
        events: list[str] = []
        real_fsync = os.fsync
        real_rename = os.rename

        def record_fsync(fd: int) -> None:
            events.append("fsync " + os.readlink(f"/proc/self/fd/{fd}"))
            real_fsync(fd)

        def record_rename(src: object, dst: object) -> None:
            events.append(f"rename {Path(dst).name}")
            real_rename(src, dst)

        run = self.make_run()
        with mock.patch.object(hoist_contract.os, "fsync", record_fsync), \
                mock.patch.object(hoist_contract.os, "rename", record_rename):
            with run.checkpoint(9) as folder:
                (folder / "sub").mkdir()
                (folder / "sub" / "b.bin").write_bytes(b"b")
                (folder / "a.bin").write_bytes(b"a")
                temporary = str(folder)

        rename = events.index("rename step-9")
        before = events[:rename]
        self.assertIn(f"fsync {temporary}/a.bin", before)
        self.assertIn(f"fsync {temporary}/sub/b.bin", before)
        self.assertIn(f"fsync {temporary}/sub", before)
        self.assertEqual(before[-1], f"fsync {temporary}")
        self.assertEqual(events[rename + 1:],
                         [f"fsync {self.checkpoints}"])

    def test_killed_writer_leaves_no_step(self) -> None:
        """A process killed inside the block leaves only its temporary folder."""
        script = textwrap.dedent(f"""
            import os, signal, sys
            sys.path.insert(0, {str(PYTHON_DIR)!r})
            from hoist_contract import Run
            run = Run(handle_sigterm=False)
            with run.checkpoint(12) as folder:
                (folder / "half.bin").write_bytes(b"x" * 4096)
                os.kill(os.getpid(), signal.SIGKILL)
        """)
        result = subprocess.run([sys.executable, "-c", script],
                                env=self.hoist_env(), timeout=60)
        self.assertEqual(result.returncode, -signal.SIGKILL)
        names = os.listdir(self.checkpoints)
        self.assertEqual(len(names), 1)
        self.assertTrue(names[0].startswith(".tmp-step-12-"))

        # A local run does not mistake the leftover for a checkpoint.
        run = self.make_run({"HOIST_CHECKPOINT_DIR": str(self.checkpoints)})
        self.assertIsNone(run.resume())


class ShouldCheckpointTest(ContractTestCase):

    def test_interval(self) -> None:
        clock = FakeClock()
        run = self.make_run(clock=clock)
        self.assertFalse(run.should_checkpoint(1))
        clock.now = 29.9
        self.assertFalse(run.should_checkpoint(2))
        clock.now = 30.0
        self.assertTrue(run.should_checkpoint(3))
        with run.checkpoint(3):
            pass
        self.assertFalse(run.should_checkpoint(3))
        clock.now = 45.0
        self.assertFalse(run.should_checkpoint(4))
        clock.now = 60.0
        self.assertTrue(run.should_checkpoint(5))

    def test_every_steps(self) -> None:
        run = self.make_run(clock=FakeClock())
        self.assertFalse(run.should_checkpoint(49, every_steps=50))
        self.assertTrue(run.should_checkpoint(50, every_steps=50))
        self.assertFalse(run.should_checkpoint(50))
        for every_steps in (0, -5, 2.5):
            with self.subTest(every_steps=every_steps):
                with self.assertRaisesRegex(ValueError, "every_steps"):
                    run.should_checkpoint(50, every_steps=every_steps)

    def test_stop_request(self) -> None:
        run = self.make_run(clock=FakeClock())
        self.assertFalse(run.should_checkpoint(1))
        run.request_stop()
        self.assertTrue(run.stop_requested)
        self.assertTrue(run.should_checkpoint(1))
        with run.checkpoint(1):
            pass
        self.assertFalse(run.should_checkpoint(1))
        self.assertTrue(run.should_checkpoint(2))


class SigtermTest(ContractTestCase):

    def test_flag_set_by_signal(self) -> None:
        before = signal.getsignal(signal.SIGTERM)
        run = Run(self.hoist_env())
        try:
            self.assertFalse(run.stop_requested)
            os.kill(os.getpid(), signal.SIGTERM)
            deadline = time.monotonic() + 5
            while not run.stop_requested and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertTrue(run.stop_requested)
            self.assertTrue(run.should_checkpoint(1))
        finally:
            run.close()
        self.assertEqual(signal.getsignal(signal.SIGTERM), before)

    def test_process_survives_signal(self) -> None:
        script = textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {str(PYTHON_DIR)!r})
            from hoist_contract import Run
            with Run() as run:
                print("ready", flush=True)
                deadline = time.monotonic() + 30
                while not run.stop_requested and time.monotonic() < deadline:
                    time.sleep(0.01)
                with run.checkpoint(5) as folder:
                    (folder / "final.txt").write_text("stopped")
                print("stopped" if run.stop_requested else "timed out")
        """)
        child = subprocess.Popen([sys.executable, "-c", script],
                                 env=self.hoist_env(), stdout=subprocess.PIPE,
                                 text=True)
        try:
            self.assertEqual(child.stdout.readline(), "ready\n")
            child.send_signal(signal.SIGTERM)
            output, _ = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
        self.assertEqual(child.returncode, 0)
        self.assertEqual(output, "stopped\n")
        self.assertEqual(
            (self.checkpoints / "step-5" / "final.txt").read_text(),
            "stopped")

    def test_worker_thread_requires_opt_out(self) -> None:
        import threading
        errors: list[BaseException] = []

        def create() -> None:
            try:
                Run(self.hoist_env())
            except ValueError as exc:
                errors.append(exc)

        thread = threading.Thread(target=create)
        thread.start()
        thread.join()
        self.assertEqual(len(errors), 1)
        self.assertIn("handle_sigterm=False", str(errors[0]))


class MetricsTest(ContractTestCase):

    def read_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in
                self.metrics.read_text().splitlines()]

    def test_lines_visible_while_open(self) -> None:
        run = self.make_run()
        run.log(10, loss=2.5)
        self.assertEqual(self.read_lines(), [{"step": 10, "loss": 2.5}])
        run.log(20, loss=2.25, lr=0.01, phase="train")
        self.assertEqual(self.read_lines()[-1],
                         {"step": 20, "loss": 2.25, "lr": 0.01,
                          "phase": "train"})
        self.assertTrue(self.metrics.read_text().endswith("\n"))

    def test_appends_to_existing_file(self) -> None:
        self.metrics.write_text('{"step": 1, "loss": 3.0}\n')
        run = self.make_run()
        run.log(2, loss=2.9)
        self.assertEqual([line["step"] for line in self.read_lines()], [1, 2])

    def test_value_conversion(self) -> None:
        class Scalar:
            """Stand-in for a numpy or torch scalar."""

            def item(self) -> float:
                return 1.5

        run = self.make_run()
        run.log(1, nan=float("nan"), inf=float("inf"), scalar=Scalar(),
                count=3, flag=True, none=None)
        self.assertEqual(self.read_lines(),
                         [{"step": 1, "nan": None, "inf": None,
                           "scalar": 1.5, "count": 3, "flag": True,
                           "none": None}])

    def test_invalid_values_rejected(self) -> None:
        run = self.make_run()
        with self.assertRaisesRegex(TypeError, "'weights'"):
            run.log(1, weights=[1.0, 2.0])
        with self.assertRaisesRegex(ValueError, "step"):
            run.log(-1, loss=1.0)
        with self.assertRaisesRegex(ValueError, "65536"):
            run.log(1, text="x" * hoist_contract.METRICS_LINE_MAX)
        self.assertFalse(self.metrics.exists())

    def test_metrics_folder_created(self) -> None:
        path = self.root / "deep" / "metrics.jsonl"
        run = self.make_run(self.hoist_env(HOIST_METRICS_FILE=str(path)))
        run.log(1, loss=1.0)
        self.assertEqual(path.read_text(), '{"step": 1, "loss": 1.0}\n')


if __name__ == "__main__":
    unittest.main()

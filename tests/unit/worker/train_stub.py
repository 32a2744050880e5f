"""A stand-in training command for the hoist-agent end-to-end test.

It follows the contract of docs/protocol.md: it appends metrics lines to
HOIST_METRICS_FILE, writes checkpoints as '.'-prefixed folders renamed to
step-<N> in HOIST_CHECKPOINT_DIR, resumes from HOIST_RESUME_DIR, and on
SIGTERM writes a final checkpoint and exits.
"""

import argparse
import json
import os
import signal
import sys
import time

stop_requested = False


def on_sigterm(signum, frame):
    global stop_requested
    stop_requested = True


def write_checkpoint(step):
    root = os.environ["HOIST_CHECKPOINT_DIR"]
    # A stop right after a periodic checkpoint has nothing new to save.
    if os.path.isdir(os.path.join(root, "step-%d" % step)):
        return
    tmp = os.path.join(root, ".tmp-step-%d" % step)
    os.makedirs(os.path.join(tmp, "sub"), exist_ok=True)
    with open(os.path.join(tmp, "state.json"), "w") as f:
        json.dump({"step": step}, f)
    with open(os.path.join(tmp, "sub", "weights.bin"), "wb") as f:
        f.write(bytes(range(256)) * 16)
    os.rename(tmp, os.path.join(root, "step-%d" % step))


def append_metrics(line):
    with open(os.environ["HOIST_METRICS_FILE"], "a") as f:
        f.write(line + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--sleep", type=float, default=0.1)
    parser.add_argument("--checkpoint-every", type=int, default=0)
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--pid-file")
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("--print-every", type=int, default=0)
    args = parser.parse_args()

    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, on_sigterm)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write(str(os.getpid()))

    print("stub started", flush=True)
    for name in ("HOIST_AGENT_TOKEN", "HOIST_ORCHESTRATOR_URL"):
        print("%s visible: %s" % (name, name in os.environ), flush=True)
    print("job env STUB_LABEL=%s" % os.environ.get("STUB_LABEL"), flush=True)
    print("attempt %s of job %s" % (os.environ["HOIST_ATTEMPT"],
                                    os.environ["HOIST_JOB_ID"]), flush=True)
    print("non-UTF-8 bytes follow:", flush=True)
    sys.stdout.buffer.write(b"\xff\xfe\x00end\n")
    sys.stdout.flush()

    step = 0
    resume_dir = os.environ["HOIST_RESUME_DIR"]
    if resume_dir:
        with open(os.path.join(resume_dir, "state.json")) as f:
            step = json.load(f)["step"]
        print("resumed from step %d (HOIST_RESUME_STEP=%s)"
              % (step, os.environ["HOIST_RESUME_STEP"]), flush=True)

    append_metrics("this line is not JSON")
    while step < args.steps:
        if stop_requested:
            write_checkpoint(step)
            print("stopping at step %d" % step, flush=True)
            return 0
        step += 1
        append_metrics(json.dumps({"step": step, "loss": 1.0 / step}))
        if args.print_every and step % args.print_every == 0:
            print("step %d loss %.4f" % (step, 1.0 / step), flush=True)
        if args.checkpoint_every and step % args.checkpoint_every == 0:
            write_checkpoint(step)
        time.sleep(args.sleep)
    print("finished at step %d" % step, flush=True)
    return args.exit_code


if __name__ == "__main__":
    sys.exit(main())

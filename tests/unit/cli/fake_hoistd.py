"""A fake hoistd for the end-to-end tests of the hoist CLI.

It serves the CLI endpoints of docs/protocol.md from memory on 127.0.0.1
with the standard library's http.server.  Each submitted job follows a
scripted timeline chosen by its name, and moves one step further on every
GET /v1/jobs/{id}, so a CLI that polls gets every change:

- a name containing "fail": one attempt whose command fails, then the job
  fails with too_many_failures;
- a name containing "forever": the job keeps running and its step grows;
- a name containing "blink": attempt 1 starts and fails between two polls,
  and attempt 2 succeeds;
- a name containing "burst": several checkpoints are committed between two
  polls, listed out of step order, and retention drops the oldest;
- a name containing "uploaderr": checkpoint uploads fail for two polls
  (the record carries checkpoint_error), then one commits and the job
  succeeds;
- any other name: attempt 1 is preempted after a checkpoint at step 100,
  attempt 2 resumes from it and the job succeeds.

Imported by test_cli_fake.py, or run as a stand-in for the hoistd
executable: ``fake_hoistd.py --home DIR --listen 127.0.0.1:0 --daemonize``
detaches, writes DIR/admin.token and DIR/hoistd.url, and exits by itself
after --idle-exit seconds without requests (default 60).
"""

import argparse
import copy
import json
import os
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Small on purpose: the CLI must stitch a log together from several replies.
LOG_CHUNK_MAX = 16


def rfc3339(seconds):
    """Formats seconds since the epoch like hoistd: UTC with milliseconds."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (moment.microsecond // 1000)


def new_attempt(number, instance_id, state, resumed_from_step=None):
    return {
        "number": number, "instance_id": instance_id, "state": state,
        "created_at": rfc3339(time.time()), "started_at": None,
        "ended_at": None, "end_reason": None,
        "resumed_from_step": resumed_from_step, "last_step": None,
        "exit_code": None,
    }


def end_attempt(attempt, reason, exit_code, last_step):
    attempt.update(state="ended", end_reason=reason, exit_code=exit_code,
                   last_step=last_step, ended_at=rfc3339(time.time()))


def add_checkpoint(job, step, attempt):
    job["checkpoints"].append({
        "step": step, "attempt": attempt,
        "committed_at": rfc3339(time.time()),
        "manifest_key": "jobs/%s/checkpoints/a%d-s%d/manifest.json"
                        % (job["id"], attempt, step),
    })


def finish_job(job, state, reason, cost):
    job.update(state=state, end_reason=reason, cost_usd=cost,
               ended_at=rfc3339(time.time()))


def succeed_timeline():
    """Attempt 1 is preempted, attempt 2 resumes from step 100."""
    def provisioning(job):
        job["state"] = "provisioning"
        job["attempts"].append(new_attempt(1, "", "provisioning"))

    def running(job):
        job["state"] = "running"
        job["attempts"][0].update(instance_id="local-aaaa0001",
                                  state="running",
                                  started_at=rfc3339(time.time()))
        job["logs"][1] = "a1 line 1\na1 line 2\n"

    def checkpoint(job):
        job.update(last_step=100, metrics={"loss": 2.5, "step": 100})
        job["attempts"][0]["last_step"] = 100
        add_checkpoint(job, 100, 1)

    def preempted(job):
        job["state"] = "recovering"
        job["logs"][1] += "a1 got SIGTERM\n"
        end_attempt(job["attempts"][0], "preempted", 143, 120)

    def resumed(job):
        job["state"] = "starting"
        job["attempts"].append(new_attempt(2, "local-bbbb0002", "starting",
                                           resumed_from_step=100))
        job["logs"][2] = "a2 resumed at 100\n"

    def second_checkpoint(job):
        job.update(state="running", last_step=200,
                   metrics={"loss": 1.9, "step": 200})
        job["attempts"][1].update(state="running", last_step=200,
                                  started_at=rfc3339(time.time()))
        add_checkpoint(job, 200, 2)

    def succeeded(job):
        job["logs"][2] += "a2 done\n"
        end_attempt(job["attempts"][1], "completed", 0, 250)
        job["last_step"] = 250
        finish_job(job, "succeeded", "completed", 0.0123)

    return [provisioning, running, checkpoint, preempted, resumed,
            second_checkpoint, succeeded]


def fail_timeline():
    def provisioning(job):
        job["state"] = "provisioning"
        job["attempts"].append(new_attempt(1, "local-cccc0003",
                                           "provisioning"))

    def running(job):
        job["state"] = "running"
        job["attempts"][0].update(state="running",
                                  started_at=rfc3339(time.time()))
        job["logs"][1] = "Traceback: boom\n"

    def failed(job):
        end_attempt(job["attempts"][0], "command_failed", 1, None)
        finish_job(job, "failed", "too_many_failures", 0.0007)

    return [provisioning, running, failed]


def blink_timeline():
    def first_gone(job):
        job["state"] = "starting"
        first = new_attempt(1, "local-eeee0005", "running")
        end_attempt(first, "command_failed", 2, None)
        job["attempts"].append(first)
        job["attempts"].append(new_attempt(2, "local-ffff0006", "starting"))

    def succeeded(job):
        end_attempt(job["attempts"][1], "completed", 0, 10)
        job["last_step"] = 10
        finish_job(job, "succeeded", "completed", 0.0002)

    return [first_gone, succeeded]


def burst_timeline():
    """Checkpoints come faster than the polls, like a job that commits
    every few steps, and the record keeps only the newest three."""
    def running(job):
        job["state"] = "running"
        job["attempts"].append(new_attempt(1, "local-9999000a", "running"))

    def first_burst(job):
        for step in (300, 100, 200):
            add_checkpoint(job, step, 1)
        job["last_step"] = 300

    def second_burst(job):
        for step in (500, 400):
            add_checkpoint(job, step, 1)
        job["checkpoints"].sort(key=lambda c: c["step"])
        del job["checkpoints"][:-3]
        job["last_step"] = 500

    def succeeded(job):
        end_attempt(job["attempts"][0], "completed", 0, 500)
        finish_job(job, "succeeded", "completed", 0.0004)

    return [running, first_burst, second_burst, succeeded]


UPLOAD_ERROR = ("upload of step 100 failed: PUT s3://bucket/x failed: "
                "HTTP 403 AccessDenied")


def upload_error_timeline():
    def running(job):
        job["state"] = "running"
        job["attempts"].append(new_attempt(1, "local-eeee0005", "running"))

    def failing(job):
        job["checkpoint_error"] = UPLOAD_ERROR

    def still_failing(job):
        job["last_step"] = 150
        # The next failure names its own step, so hoist prints only the
        # first.
        job["checkpoint_error"] = UPLOAD_ERROR.replace("step 100",
                                                       "step 150")

    def recovered(job):
        del job["checkpoint_error"]
        add_checkpoint(job, 200, 1)

    def succeeded(job):
        end_attempt(job["attempts"][0], "completed", 0, 300)
        finish_job(job, "succeeded", "completed", 0.0003)

    return [running, failing, still_failing, recovered, succeeded]


def forever_timeline():
    def running(job):
        job["state"] = "running"
        job["attempts"].append(new_attempt(1, "local-dddd0004", "running"))
        job["logs"][1] = "working\n"

    def step(job):
        job["last_step"] = (job["last_step"] or 0) + 10
        job["metrics"] = {"loss": 3.0, "step": job["last_step"]}
        job["attempts"][0]["last_step"] = job["last_step"]
        return True  # repeat this step on every poll

    return [running, step]


class FakeHoistd:
    """The state and the HTTP server of one fake hoistd."""

    def __init__(self, token="test-token", host="127.0.0.1", port=0):
        self.token = token
        self.lock = threading.Lock()
        self.jobs = {}
        self.timelines = {}
        self.instances = []
        self.requests = []      # (method, path, body) of every request
        self.last_request = time.monotonic()
        self.next_id = 1
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.server.fake = self
        self.thread = None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return "http://%s:%d" % (host, port)

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def add_job(self, name, state="queued", created_ago=0, ended_ago=None,
                timeline=None):
        """Adds a job directly, as if submitted earlier; returns its id."""
        spec = {"name": name, "team": "default", "project": "default",
                "profile": {"name": "dev-test", "gpu_name": "RTX 4090",
                            "num_gpus": 1, "max_dph": 0.4},
                "command": ["/bin/true"], "workdir": "/tmp", "env": {}}
        with self.lock:
            job = self._create(spec, timeline or [])
            job["state"] = state
            job["created_at"] = rfc3339(time.time() - created_ago)
            if ended_ago is not None:
                job["ended_at"] = rfc3339(time.time() - ended_ago)
                job["end_reason"] = "completed"
            return job["id"]

    def add_instance(self, instance_id, state="running", job_id=None):
        with self.lock:
            self.instances.append({
                "id": instance_id, "provider": "local",
                "label": "hoist-fake-" + instance_id, "job_id": job_id,
                "attempt": 1, "state": state, "offer": "local-4090-a",
                "gpu_name": "RTX 4090", "price_per_hour": 0.35,
                "created_at": rfc3339(time.time() - 90),
                "destroyed_at": None, "cost_usd": 0.0087,
            })

    def requests_to(self, method, path):
        with self.lock:
            return [body for m, p, body in self.requests
                    if m == method and p == path]

    def _create(self, spec, timeline):
        job_id = "j-%08x" % self.next_id
        self.next_id += 1
        job = {
            "id": job_id, "name": spec.get("name"),
            "team": spec.get("team"), "project": spec.get("project"),
            "state": "queued", "end_reason": None,
            "created_at": rfc3339(time.time()), "updated_at": None,
            "ended_at": None, "last_step": None, "metrics": None,
            "cost_usd": 0.0, "spec": spec, "attempts": [],
            "checkpoints": [], "logs": {},
        }
        self.jobs[job_id] = job
        self.timelines[job_id] = list(timeline)
        return job

    def submit(self, spec):
        name = spec.get("name") or ""
        if "fail" in name:
            timeline = fail_timeline()
        elif "forever" in name:
            timeline = forever_timeline()
        elif "blink" in name:
            timeline = blink_timeline()
        elif "burst" in name:
            timeline = burst_timeline()
        elif "uploaderr" in name:
            timeline = upload_error_timeline()
        else:
            timeline = succeed_timeline()
        with self.lock:
            return self.render(self._create(spec, timeline), True)

    def advance(self, job_id):
        """Applies the next step of the job's timeline."""
        with self.lock:
            job = self.jobs.get(job_id)
            steps = self.timelines.get(job_id)
            if job is None:
                return None
            if steps:
                repeat = steps[0](job)
                if not repeat:
                    steps.pop(0)
            return self.render(job, True)

    def render(self, job, with_detail):
        record = {k: copy.deepcopy(v) for k, v in job.items()
                  if k != "logs"}
        record["attempt_count"] = len(job["attempts"])
        if not with_detail:
            for key in ("spec", "attempts", "checkpoints"):
                del record[key]
        return record


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    @property
    def fake(self):
        return self.server.fake

    def reply(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, message):
        self.reply(status, {"error": message, "code": code})

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        parts = [p for p in url.path.split("/") if p]
        body = None
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError:
                self.error(400, "invalid", "the body is not JSON")
                return
        with self.fake.lock:
            self.fake.requests.append((method, url.path, body))
            self.fake.last_request = time.monotonic()

        if method == "GET" and parts == ["v1", "health"]:
            self.reply(200, {"ok": True, "version": "fake",
                             "pid": os.getpid()})
            return
        if self.headers.get("Authorization") != "Bearer " + self.fake.token:
            self.error(401, "unauthorized", "missing or wrong admin token")
            return
        self.route(method, parts, query, body)

    def route(self, method, parts, query, body):
        if parts[:2] == ["v1", "jobs"]:
            if len(parts) == 2 and method == "POST":
                self.submit(body)
            elif len(parts) == 2 and method == "GET":
                self.list_jobs()
            elif len(parts) == 3 and method == "GET":
                self.show_job(parts[2])
            elif len(parts) == 4 and parts[3] == "cancel" and \
                    method == "POST":
                self.cancel_job(parts[2])
            elif len(parts) == 4 and parts[3] == "logs" and method == "GET":
                self.job_logs(parts[2], query)
            else:
                self.error(404, "not_found", "no such endpoint")
        elif parts[:2] == ["v1", "instances"]:
            if len(parts) == 2 and method == "GET":
                self.list_instances(query)
            elif len(parts) == 4 and method == "POST" and \
                    parts[3] in ("preempt", "fault"):
                self.instance_action(parts[2], parts[3], body)
            else:
                self.error(404, "not_found", "no such endpoint")
        else:
            self.error(404, "not_found", "no such endpoint")

    def submit(self, spec):
        if not isinstance(spec, dict) or not spec.get("name") or \
                not isinstance(spec.get("profile"), dict) or \
                not isinstance(spec.get("command"), list):
            self.error(400, "invalid", "spec: missing name, profile or "
                       "command")
            return
        self.reply(201, self.fake.submit(spec))

    def list_jobs(self):
        with self.fake.lock:
            jobs = [self.fake.render(j, False)
                    for j in reversed(list(self.fake.jobs.values()))]
        self.reply(200, {"jobs": jobs})

    def show_job(self, job_id):
        record = self.fake.advance(job_id)
        if record is None:
            self.error(404, "not_found", "no job '%s'" % job_id)
        else:
            self.reply(200, record)

    def cancel_job(self, job_id):
        with self.fake.lock:
            job = self.fake.jobs.get(job_id)
            if job is None:
                self.error(404, "not_found", "no job '%s'" % job_id)
                return
            if job["state"] not in ("succeeded", "failed", "cancelled"):
                finish_job(job, "cancelled", "cancelled_by_user",
                           job["cost_usd"])
                self.fake.timelines[job_id] = []
            record = self.fake.render(job, True)
        self.reply(200, record)

    def job_logs(self, job_id, query):
        with self.fake.lock:
            job = self.fake.jobs.get(job_id)
            if job is None:
                self.error(404, "not_found", "no job '%s'" % job_id)
                return
            latest = len(job["attempts"])
            attempt = int(query.get("attempt", latest))
            offset = int(query.get("offset", 0))
            if "attempt" in query and not 1 <= attempt <= latest:
                self.error(400, "invalid", "invalid attempt '%s' for job "
                           "%s (it has %d attempts)"
                           % (query["attempt"], job_id, latest))
                return
            text = job["logs"].get(attempt, "")
            data = text[offset:offset + LOG_CHUNK_MAX]
            ended = attempt == 0 or \
                job["attempts"][attempt - 1]["state"] == "ended"
            doc = {"attempt": attempt, "offset": offset,
                   "next_offset": offset + len(data), "data": data,
                   "eof": ended and offset + len(data) >= len(text)}
        self.reply(200, doc)

    def list_instances(self, query):
        with self.fake.lock:
            instances = [i for i in self.fake.instances
                         if query.get("all") == "1" or
                         i["state"] != "destroyed"]
        self.reply(200, {"instances": instances})

    def instance_action(self, instance_id, action, body):
        with self.fake.lock:
            known = any(i["id"] == instance_id
                        for i in self.fake.instances)
        if not known:
            self.error(404, "not_found",
                       "no live instance '%s'" % instance_id)
            return
        if action == "fault" and (body or {}).get("fault") not in (
                "freeze", "thaw", "block_destroy", "allow_destroy"):
            self.error(400, "invalid", "unknown fault")
            return
        self.reply(202 if action == "preempt" else 200, {"ok": True})


def run_daemon(home, listen, idle_exit):
    """Serves like 'hoistd --daemonize': detaches, then writes the files."""
    host, _, port = listen.rpartition(":")
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    fake = FakeHoistd(token="daemon-token", host=host, port=int(port))
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "admin.token"), "w") as f:
        f.write(fake.token + "\n")
    with open(os.path.join(home, "hoistd.url.tmp"), "w") as f:
        f.write(fake.url + "\n")
    os.rename(os.path.join(home, "hoistd.url.tmp"),
              os.path.join(home, "hoistd.url"))
    fake.start()
    while time.monotonic() - fake.last_request < idle_exit:
        time.sleep(0.2)
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--daemonize", action="store_true")
    parser.add_argument("--idle-exit", type=float, default=60.0)
    args = parser.parse_args()
    if not args.daemonize:
        parser.error("only --daemonize is supported")
    if not args.listen.startswith("127.0.0.1:"):
        parser.error("the fake listens on 127.0.0.1 only")
    run_daemon(args.home, args.listen, args.idle_exit)


if __name__ == "__main__":
    sys.exit(main())

"""HTTP tests of the Vast.ai simulator (hoist sim) on 127.0.0.1.

Usage: test_sim_http.py SIMULATOR_EXECUTABLE [unittest options]

Each test starts the real simulator on a free loopback port and talks to
it with urllib, as a client of the Vast.ai REST API would.  HOIST_BIN_DIR
must point at the folder of hoist-instance-shim.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

SIM = None
KEY = "test-key-1"
OTHER_KEY = "test-key-2"


class Sim:
    """One simulator process and a small client of its API."""

    def __init__(self, *args):
        self.state_dir = tempfile.mkdtemp(prefix="hoist-sim-test-")
        cmd = [SIM, "--listen", "127.0.0.1:0", "--api-key", KEY,
               "--api-key", OTHER_KEY, "--state-dir", self.state_dir,
               "--boot-delay", "0.2", "--load-delay", "0.3",
               "--kill-grace", "2", "--log-level", "warn"] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on http://" not in line:
            self.proc.kill()
            raise RuntimeError("the simulator did not start: %r %s" %
                               (line, self.proc.stderr.read()))
        self.base = line.strip().split("listening on ")[1]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def request(self, method, path, body=None, key=KEY, query=None,
                timeout=10, raw_body=None):
        """Returns (status, headers, body bytes); key=None sends none."""
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if key is not None:
            req.add_header("Authorization", "Bearer " + key)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, method, path, body=None, expect=200, **kw):
        status, headers, data = self.request(method, path, body, **kw)
        if status != expect:
            raise AssertionError("%s %s: expected %d, got %d: %r" %
                                 (method, path, expect, status, data))
        if headers.get("Content-Type") != "application/json":
            raise AssertionError("%s %s: Content-Type %r" %
                                 (method, path, headers.get("Content-Type")))
        return json.loads(data)

    def admin(self, method, what, body=None):
        return self.json(method, "/admin/" + what, body)

    def search(self, query):
        return self.json("POST", "/api/v0/bundles/", query)["offers"]

    def show(self, iid):
        return self.json("GET", "/api/v0/instances/%d/" % iid)["instances"]

    def create(self, offer_id, body, expect=200):
        return self.json("PUT", "/api/v0/asks/%d/" % offer_id, body,
                         expect=expect)

    def wait_status(self, iid, status, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            inst = self.show(iid)
            if inst and inst["actual_status"] == status:
                return inst
            if time.monotonic() > deadline:
                raise AssertionError("instance %d: expected %s, got %r" %
                                     (iid, status, inst and
                                      inst["actual_status"]))
            time.sleep(0.1)

    def state_of(self, iid):
        for inst in self.admin("GET", "state")["instances"]:
            if inst["id"] == iid:
                return inst
        raise AssertionError("instance %d not in /admin/state" % iid)


def cheapest(sim, gpu="RTX 4090", kind="on-demand"):
    offers = sim.search({"gpu_name": {"eq": gpu}, "type": kind,
                         "order": [["dph_total", "asc"]], "limit": 1})
    return offers[0]


def session_pids(sid):
    """Returns the pids whose session id is sid."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(name))
    return pids


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


class SimTestCase(unittest.TestCase):
    args = ()

    def setUp(self):
        self.sim = Sim(*self.args)

    def tearDown(self):
        self.sim.stop()


class AuthAndRoutes(SimTestCase):
    def test_auth_rejects_other_keys(self):
        expected = {"success": False, "error": "auth_error",
                    "msg": "Invalid user key"}
        for path in ("/api/v0/users/current/", "/api/v1/instances/",
                     "/api/v0/instances/1/"):
            body = self.sim.json("GET", path, key="wrong", expect=401)
            self.assertEqual(body, expected)
            body = self.sim.json("GET", path, key=None, expect=401,
                                 query={"api_key": "wrong"})
            self.assertEqual(body, expected)
        self.sim.json("GET", "/api/v0/users/current/", key=None, expect=401)

    def test_key_header_or_query(self):
        user = self.sim.json("GET", "/api/v0/users/current/")
        self.assertEqual(user["api_key"], KEY)
        self.assertAlmostEqual(user["credit"], 100.0)
        other = self.sim.json("GET", "/api/v0/users/current", key=None,
                              query={"api_key": OTHER_KEY, "owner": "me"})
        self.assertEqual(other["api_key"], OTHER_KEY)
        self.assertNotEqual(user["id"], other["id"])

    def test_both_slash_forms(self):
        for path in ("/api/v0/users/current", "/api/v0/users/current/",
                     "/api/v1/instances", "/api/v1/instances/",
                     "/api/v0/instances", "/api/v0/instances/"):
            self.sim.json("GET", path)
        for path in ("/api/v0/bundles", "/api/v0/bundles/"):
            self.assertTrue(self.sim.json("POST", path, {"limit": 2})
                            ["offers"])
        offer = cheapest(self.sim)
        iid = self.sim.create(offer["id"], {"image": "img", "disk": 10,
                                            "onstart": ""})["new_contract"]
        for path in ("/api/v0/instances/%d" % iid,
                     "/api/v0/instances/%d/" % iid):
            self.assertEqual(self.sim.json("GET", path)["instances"]["id"],
                             iid)
        self.sim.json("DELETE", "/api/v0/instances/%d" % iid)

    def test_search_is_public(self):
        self.assertEqual(len(self.sim.search({"limit": 3})), 3)
        body = self.sim.json("POST", "/api/v0/bundles/", {"limit": 1},
                             key=None)
        self.assertEqual(len(body["offers"]), 1)


class Search(SimTestCase):
    def test_filters(self):
        offers = self.sim.search({
            "gpu_name": {"eq": "RTX 4090"}, "num_gpus": {"eq": "1"},
            "reliability": {"gte": "0.95"}, "verified": {"eq": True},
            "rented": {"eq": False}, "order": [["dph_total", "asc"]],
            "type": "on-demand", "limit": 500})
        self.assertTrue(offers)
        prices = [o["dph_total"] for o in offers]
        self.assertEqual(prices, sorted(prices))
        for o in offers:
            self.assertEqual(o["gpu_name"], "RTX 4090")
            self.assertEqual(o["num_gpus"], 1)
            self.assertGreaterEqual(o["reliability"], 0.95)
            self.assertTrue(o["verified"])

        offers = self.sim.search({"geolocation": {"in": ["US", "CA"]},
                                  "cpu_ram": {"gte": 64000},
                                  "limit": 1000})
        self.assertTrue(offers)
        for o in offers:
            self.assertIn(o["geolocation"][-2:], ("US", "CA"))
            self.assertGreaterEqual(o["cpu_ram"], 64000)

        offers = self.sim.search({"gpu_name": {"notin": ["RTX 4090"]},
                                  "num_gpus": {"gte": 2, "lt": 4},
                                  "limit": 1000})
        for o in offers:
            self.assertNotEqual(o["gpu_name"], "RTX 4090")
            self.assertIn(o["num_gpus"], (2, 3))

    def test_limits(self):
        self.assertEqual(len(self.sim.search({})), 64)
        self.assertEqual(len(self.sim.search({"limit": 200})), 200)
        self.assertEqual(len(self.sim.search({"limit": 5})), 5)

    def test_pricing_types_and_storage(self):
        od = self.sim.search({"gpu_name": {"eq": "H200"},
                              "allocated_storage": 5, "limit": 1,
                              "order": [["id", "asc"]]})[0]
        big = self.sim.search({"gpu_name": {"eq": "H200"},
                               "allocated_storage": 100, "limit": 1,
                               "order": [["id", "asc"]]})[0]
        bid = self.sim.search({"gpu_name": {"eq": "H200"}, "type": "bid",
                               "allocated_storage": 5, "limit": 1,
                               "order": [["id", "asc"]]})[0]
        self.assertEqual(od["id"], big["id"])
        storage = od["storage_cost"]
        self.assertAlmostEqual(od["dph_total"],
                               od["dph_base"] + 5 * storage / 720, 9)
        self.assertAlmostEqual(big["dph_total"],
                               od["dph_base"] + 100 * storage / 720, 9)
        self.assertAlmostEqual(bid["dph_total"],
                               od["min_bid"] + 5 * storage / 720, 9)
        self.assertLess(od["min_bid"], od["dph_base"])

    def test_bad_queries(self):
        body = self.sim.json("POST", "/api/v0/bundles/",
                             {"num_gpus": {"like": 1}}, expect=400)
        self.assertEqual(body["error"], "invalid_request")
        self.assertIn("like", body["msg"])
        body = self.sim.json("POST", "/api/v0/bundles/",
                             raw_body=b"{not json", expect=400)
        self.assertEqual(body, {"error": "invalid_request",
                                "msg": "Invalid json body"})


class MarketDeterminism(unittest.TestCase):
    def offers(self, seed):
        sim = Sim("--seed", str(seed))
        try:
            offers = sim.search({"limit": 10000, "order": [["id", "asc"]]})
        finally:
            sim.stop()
        for o in offers:
            for key in ("start_date", "end_date"):
                del o[key]
        return offers

    def test_same_seed_same_market(self):
        a = self.offers(42)
        self.assertGreaterEqual(len(a), 300)
        self.assertEqual(a, self.offers(42))
        self.assertNotEqual(a, self.offers(43))


class Lifecycle(SimTestCase):
    def test_create_show_list_destroy(self):
        offer = cheapest(self.sim)
        created = self.sim.create(offer["id"], {
            "client_id": "me", "image": "python:3.11", "disk": 16,
            "label": "hoist-o-j1-a1", "onstart": "sleep 600",
            "runtype": "ssh_direc ssh_proxy", "env": {"A": "1"}})
        self.assertTrue(created["success"])
        iid = created["new_contract"]
        self.assertEqual(len(created["instance_api_key"]), 64)

        inst = self.sim.show(iid)
        self.assertEqual(inst["label"], "hoist-o-j1-a1")
        self.assertEqual(inst["intended_status"], "running")
        self.assertIn(inst["actual_status"], (None, "loading", "running"))
        inst = self.sim.wait_status(iid, "running")
        self.assertEqual(inst["cur_state"], "running")
        self.assertEqual(inst["next_state"], "running")
        self.assertFalse(inst["is_bid"])
        self.assertEqual(inst["disk_space"], 16)
        self.assertEqual(inst["machine_id"], offer["machine_id"])
        self.assertAlmostEqual(inst["dph_total"], offer["dph_base"] +
                               16 * offer["storage_cost"] / 720, 9)
        self.assertIsInstance(inst["ports"]["22/tcp"][0]["HostPort"], str)
        self.assertEqual(inst["extra_env"], [["A", "1"]])

        # The rented offer is gone from searches and cannot be rented.
        ids = [o["id"] for o in self.sim.search({"limit": 10000})]
        self.assertNotIn(offer["id"], ids)
        body = self.sim.create(offer["id"], {"image": "x"}, expect=404)
        self.assertEqual(body["error"], "invalid_args")
        self.assertIn("no_such_ask", body["msg"])
        self.assertEqual(body["ask_id"], offer["id"])

        # Another account does not see the instance.
        other = self.sim.json("GET", "/api/v0/instances/%d/" % iid,
                              key=OTHER_KEY)
        self.assertIsNone(other["instances"])

        self.assertEqual(self.sim.json("DELETE",
                                       "/api/v0/instances/%d/" % iid),
                         {"success": True})
        self.assertIsNone(self.sim.show(iid))
        body = self.sim.json("DELETE", "/api/v0/instances/%d/" % iid,
                             expect=404)
        self.assertEqual(body, {"success": False,
                                "error": "no_such_instance",
                                "msg": "Instance %d not found." % iid})
        # The machine is offered again under a new id.
        machines = {o["machine_id"]: o["id"]
                    for o in self.sim.search({"limit": 10000})}
        self.assertIn(offer["machine_id"], machines)
        self.assertNotEqual(machines[offer["machine_id"]], offer["id"])

    def test_list_v1_pages(self):
        offers = self.sim.search({"num_gpus": {"eq": 1}, "limit": 7})
        ids = []
        for i, offer in enumerate(offers):
            ids.append(self.sim.create(offer["id"], {
                "image": "img", "label": "batch-%d" % (i % 2),
                "onstart": ""})["new_contract"])
        seen = []
        token = None
        pages = 0
        while True:
            query = {"limit": "3", "order_by": json.dumps(
                [{"col": "id", "dir": "asc"}])}
            if token:
                query["after_token"] = token
            page = self.sim.json("GET", "/api/v1/instances/", query=query)
            pages += 1
            self.assertTrue(page["success"])
            self.assertEqual(page["total_instances"], 7)
            self.assertEqual(page["label_counts"],
                             {"batch-0": 4, "batch-1": 3})
            self.assertLessEqual(page["instances_found"], 3)
            seen += [i["id"] for i in page["instances"]]
            token = page["next_token"]
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(seen, sorted(ids))

        page = self.sim.json("GET", "/api/v1/instances/", query={
            "select_filters": json.dumps({"label": {"eq": "batch-1"}})})
        self.assertEqual(len(page["instances"]), 3)
        body = self.sim.json("GET", "/api/v1/instances/", expect=400,
                             query={"select_filters": json.dumps(
                                 {"dph_total": {"lt": 1}})})
        self.assertEqual(body["msg"], "Error in query parameters: "
                         "dph_total is not a valid search key")
        body = self.sim.json("GET", "/api/v1/instances/", expect=400,
                             query={"after_token": "bm9wZQ=="})
        self.assertEqual(body["error"], "invalid_token")

        legacy = self.sim.json("GET", "/api/v0/instances/",
                               query={"owner": "me"})
        self.assertEqual(legacy["instances_found"], 7)

    def test_start_stop_label(self):
        offer = cheapest(self.sim)
        iid = self.sim.create(offer["id"], {"image": "img",
                                            "onstart": "sleep 600"})[
            "new_contract"]
        self.sim.wait_status(iid, "running")
        path = "/api/v0/instances/%d/" % iid
        self.assertEqual(self.sim.json("PUT", path, {"state": "stopped"}),
                         {"success": True})
        inst = self.sim.show(iid)
        for field in ("actual_status", "intended_status", "cur_state",
                      "next_state"):
            self.assertEqual(inst[field], "stopped")
        self.assertIsNone(inst["ports"])
        self.sim.json("PUT", path, {"state": "running"})
        self.sim.wait_status(iid, "running")
        body = self.sim.json("PUT", path, {"label": "renamed"})
        self.assertEqual(body["msg"], "label for %d set to 'renamed'" % iid)
        self.assertEqual(self.sim.show(iid)["label"], "renamed")
        body = self.sim.json("PUT", path, {"label": "x" * 1025}, expect=400)
        self.assertEqual(body["error"], "label_too_long")
        body = self.sim.json("PUT", "/api/v0/instances/1/",
                             {"state": "stopped"}, expect=404)
        self.assertEqual(body["error"], "no_such_instance")

    def test_create_errors(self):
        body = self.sim.create(123, {"image": "x"}, expect=404)
        self.assertEqual(body, {
            "success": False, "error": "invalid_args", "ask_id": 123,
            "msg": "error 404/3603: no_such_ask Instance type by id 123 "
                   "is not available."})
        offer = cheapest(self.sim)
        body = self.sim.create(offer["id"], {"onstart": "x" * 5000},
                               expect=400)
        self.assertIn("4096", body["msg"])
        body = self.sim.create(offer["id"], {"env": {"A": 5}}, expect=400)
        self.assertEqual(body["error"], "invalid_args")
        body = self.sim.create(offer["id"], {"price": 0}, expect=400)
        self.assertEqual(body["error"], "invalid_price")

        # Another renter takes the offer between search and create.
        self.sim.admin("POST", "events", {"event": "gone_offer",
                                          "offer_id": offer["id"]})
        body = self.sim.create(offer["id"], {"image": "x"}, expect=404)
        self.assertIn("no_such_ask", body["msg"])
        body = self.sim.create(offer["id"], {"image": "x",
                                             "cancel_unavail": True},
                               expect=410)
        self.assertEqual(body["error"], "no_such_ask")

        # No credit left.
        self.sim.admin("POST", "events", {"event": "credit", "credit": 0})
        offer = cheapest(self.sim)
        body = self.sim.create(offer["id"], {"image": "x"}, expect=400)
        self.assertEqual(body["error"], "missing_billing")


class Interruptible(SimTestCase):
    def test_bid_below_minimum(self):
        offer = cheapest(self.sim, kind="bid")
        body = self.sim.create(offer["id"], {
            "image": "img", "onstart": "sleep 600",
            "price": round(offer["min_bid"] / 2, 4)}, expect=400)
        self.assertFalse(body["success"])
        self.assertEqual(body["error"], "invalid_price")
        iid = body["new_contract"]
        inst = self.sim.show(iid)
        for field in ("actual_status", "intended_status", "cur_state",
                      "next_state"):
            self.assertEqual(inst[field], "stopped")
        self.assertTrue(inst["is_bid"])
        self.sim.json("DELETE", "/api/v0/instances/%d/" % iid)

    def test_outbid_then_rebid(self):
        offer = cheapest(self.sim, kind="bid")
        iid = self.sim.create(offer["id"], {
            "image": "img", "onstart": "sleep 600",
            "price": offer["min_bid"]})["new_contract"]
        inst = self.sim.wait_status(iid, "running")
        self.assertTrue(inst["is_bid"])
        self.assertAlmostEqual(inst["dph_base"], offer["min_bid"])
        sid = self.sim.state_of(iid)["shim_pid"]
        wait_until(lambda: session_pids(sid), 5, "the onstart process")

        self.sim.admin("POST", "events", {"event": "outbid",
                                          "instance_id": iid})
        inst = self.sim.show(iid)
        for field in ("actual_status", "intended_status", "cur_state",
                      "next_state"):
            self.assertEqual(inst[field], "stopped")
        self.assertGreater(inst["min_bid"], offer["min_bid"])
        wait_until(lambda: not session_pids(sid), 10,
                   "the outbid instance's processes to end")

        path = "/api/v0/instances/bid_price/%d/" % iid
        body = self.sim.json("PUT", path, {"client_id": "me",
                                           "price": 0.0001}, expect=400)
        self.assertEqual(body["msg"], "Please set a bid price >= 0.001.")
        body = self.sim.json("PUT", "/api/v0/instances/bid_price/1/",
                             {"price": 1}, expect=404)
        self.assertEqual(body["msg"], "Instance with that ID does not "
                         "exist.")
        self.sim.json("PUT", path, {"client_id": "me",
                                    "price": inst["min_bid"] + 0.01})
        self.sim.json("PUT", "/api/v0/instances/%d/" % iid,
                      {"state": "running"})
        inst = self.sim.wait_status(iid, "running")
        self.assertAlmostEqual(inst["dph_base"], inst["min_bid"] + 0.01)


class Events(SimTestCase):
    def test_offline_and_exited(self):
        offer = cheapest(self.sim)
        iid = self.sim.create(offer["id"], {"image": "img",
                                            "onstart": "sleep 600"})[
            "new_contract"]
        self.sim.wait_status(iid, "running")
        self.sim.admin("POST", "events", {"event": "offline",
                                          "instance_id": iid})
        inst = self.sim.show(iid)
        self.assertEqual(inst["actual_status"], "offline")
        self.assertEqual(inst["intended_status"], "running")
        # No billing of any kind while offline.
        before = self.sim.state_of(iid)["bill"]["total_usd"]
        time.sleep(0.5)
        self.assertEqual(self.sim.state_of(iid)["bill"]["total_usd"],
                         before)
        self.sim.admin("POST", "events", {"event": "online",
                                          "instance_id": iid})
        self.sim.wait_status(iid, "running")
        self.sim.admin("POST", "events", {"event": "exited",
                                          "instance_id": iid,
                                          "exit_code": 3})
        inst = self.sim.show(iid)
        self.assertEqual(inst["actual_status"], "exited")
        self.assertIn("3", inst["status_msg"])
        self.sim.admin("POST", "events", {"event": "oci_error",
                                          "instance_id": iid})
        inst = self.sim.show(iid)
        self.assertEqual(inst["actual_status"], "created")
        self.assertIn(": OCI runtime create failed:", inst["status_msg"])

    def test_args_runtype_exits(self):
        offer = cheapest(self.sim)
        iid = self.sim.create(offer["id"], {
            "image": "img", "runtype": "args", "onstart": "/bin/sh",
            "args": ["-c", "exit 7"]})["new_contract"]
        inst = self.sim.wait_status(iid, "exited")
        self.assertIn("7", inst["status_msg"])


class Processes(SimTestCase):
    def test_onstart_runs_with_env_and_dies_on_destroy(self):
        offer = cheapest(self.sim)
        script = ("echo \"$GREETING $CONTAINER_ID\" > greeting.txt\n"
                  "sleep 600 &\n"
                  "sleep 600\n")
        iid = self.sim.create(offer["id"], {
            "image": "img", "onstart": script,
            "env": "-e GREETING='hello world' -p 8080:8080"})[
            "new_contract"]
        self.sim.wait_status(iid, "running")
        state = self.sim.state_of(iid)
        greeting = os.path.join(state["dir"], "work", "greeting.txt")
        wait_until(lambda: os.path.exists(greeting) and
                   os.path.getsize(greeting) > 0, 5, greeting)
        with open(greeting) as f:
            self.assertEqual(f.read(), "hello world %d\n" % iid)
        inst = self.sim.show(iid)
        self.assertIn("8080/tcp", inst["ports"])
        self.assertIn(["-p 8080:8080", "1"], inst["extra_env"])

        sid = state["shim_pid"]
        wait_until(lambda: len(session_pids(sid)) >= 3, 5,
                   "the onstart processes")
        self.sim.json("DELETE", "/api/v0/instances/%d/" % iid)
        wait_until(lambda: not session_pids(sid), 10,
                   "the destroyed instance's processes to end")
        self.assertFalse(os.path.exists(os.path.join(state["dir"], "env")))

    def test_clean_shutdown_kills_instances(self):
        offer = cheapest(self.sim)
        iid = self.sim.create(offer["id"], {
            "image": "img",
            "onstart": "trap '' TERM\nsleep 600 & wait"})["new_contract"]
        self.sim.wait_status(iid, "running")
        sid = self.sim.state_of(iid)["shim_pid"]
        wait_until(lambda: len(session_pids(sid)) >= 2, 5,
                   "the onstart processes")
        started = time.monotonic()
        self.sim.stop()
        self.assertEqual(self.sim.proc.returncode, 0)
        self.assertEqual(session_pids(sid), [])
        # The script ignores SIGTERM, so SIGKILL came after the grace.
        self.assertGreaterEqual(time.monotonic() - started, 1.5)


class Billing(SimTestCase):
    args = ("--boot-delay", "0", "--load-delay", "0")

    def test_billing_matches_price(self):
        offer = cheapest(self.sim, gpu="H100 SXM")
        credit0 = self.sim.json("GET", "/api/v0/users/current/")["credit"]
        created = time.monotonic()
        iid = self.sim.create(offer["id"], {"image": "img", "disk": 40,
                                            "onstart": "sleep 600"})[
            "new_contract"]
        self.sim.wait_status(iid, "running")
        seen_running = time.monotonic()
        time.sleep(4)
        asked = time.monotonic()
        bill = self.sim.state_of(iid)["bill"]
        answered = time.monotonic()

        # The instance ran at least from when the test saw it running to
        # the request, and at most from the create to the reply.
        self.assertGreater(bill["gpu_seconds"],
                           0.99 * (asked - seen_running))
        self.assertLess(bill["gpu_seconds"], 1.01 * (answered - created))
        # Dollars are price x seconds, within 1%.
        expected = offer["dph_base"] * bill["gpu_seconds"] / 3600
        self.assertLess(abs(bill["gpu_usd"] - expected), 0.01 * expected)
        disk_rate = 40 * offer["storage_cost"] / 720
        expected = disk_rate * bill["disk_seconds"] / 3600
        self.assertLess(abs(bill["disk_usd"] - expected), 0.01 * expected)
        self.assertGreaterEqual(bill["disk_seconds"], bill["gpu_seconds"])

        user = self.sim.json("GET", "/api/v0/users/current/")
        spent = credit0 - user["credit"]
        self.assertGreater(spent, bill["total_usd"] * 0.99)
        self.assertLess(spent, bill["total_usd"] * 1.05)

        now = time.time()
        body = self.sim.json("GET", "/api/v0/charges/", expect=400)
        self.assertEqual(body["msg"], "Must provide both 'day' gte and "
                         "lte filters for instance charges")
        charges = self.sim.json("GET", "/api/v0/charges/", query={
            "select_filters": json.dumps({
                "day": {"gte": now - 3600, "lte": now + 3600},
                "type": {"in": ["instance"]}})})
        self.assertTrue(charges["success"])
        self.assertEqual(charges["count"], 1)
        result = charges["results"][0]
        self.assertEqual(result["source"], "instance-%d" % iid)
        items = {i["type"]: i for i in result["items"]}
        self.assertEqual(set(items), {"gpu", "disk", "bwd", "bwu"})
        self.assertAlmostEqual(items["gpu"]["rate"], offer["dph_base"], 6)
        self.assertGreaterEqual(result["amount"], bill["total_usd"])
        self.assertLess(result["amount"], bill["total_usd"] * 1.05)


    def test_empty_credit_stops_instances(self):
        offer = cheapest(self.sim)
        iid = self.sim.create(offer["id"], {"image": "img",
                                            "onstart": "sleep 600"})[
            "new_contract"]
        self.sim.wait_status(iid, "running")
        self.sim.admin("POST", "events", {"event": "credit", "credit": 0})
        inst = self.sim.wait_status(iid, "stopped")
        self.assertEqual(inst["intended_status"], "stopped")
        self.assertIn("credit", inst["status_msg"])
        body = self.sim.json("PUT", "/api/v0/instances/%d/" % iid,
                             {"state": "running"}, expect=400)
        self.assertEqual(body["error"], "missing_billing")


class Speed(SimTestCase):
    args = ("--speed", "20", "--boot-delay", "10", "--load-delay", "10")

    def test_speed_scales_time(self):
        offer = cheapest(self.sim)
        started = time.monotonic()
        iid = self.sim.create(offer["id"], {"image": "img",
                                            "onstart": "sleep 600"})[
            "new_contract"]
        # 20 simulated seconds of delays take about one real second.
        self.sim.wait_status(iid, "running", timeout=5)
        self.assertLess(time.monotonic() - started, 3)
        self.assertGreater(time.monotonic() - started, 0.9)
        before = self.sim.state_of(iid)["bill"]["gpu_seconds"]
        time.sleep(1)
        after = self.sim.state_of(iid)["bill"]["gpu_seconds"]
        self.assertGreater(after - before, 18)
        self.assertLess(after - before, 30)


class RateLimits(SimTestCase):
    args = ("--rate-limits", "--429-body", "json")

    def test_endpoint_intervals(self):
        self.sim.json("GET", "/api/v0/instances/1/")
        body = self.sim.json("GET", "/api/v0/instances/1/", expect=429)
        self.assertEqual(body, {"detail": "API requests too frequent "
                                          "endpoint threshold=2.0"})
        # Limits are per endpoint and per caller.
        self.sim.json("GET", "/api/v0/instances/1/", key=OTHER_KEY)
        self.sim.json("GET", "/api/v1/instances/")
        self.sim.json("DELETE", "/api/v0/instances/1/", expect=404)
        body = self.sim.json("DELETE", "/api/v0/instances/1/", expect=429)
        self.assertEqual(body["error"], "rate_limit_exceeded")
        time.sleep(2.1)
        self.sim.json("GET", "/api/v0/instances/1/")


class Faults(SimTestCase):
    def test_429_burst(self):
        self.sim.admin("POST", "events", {"event": "burst_429",
                                          "count": 3})
        for _ in range(3):
            status, headers, body = self.sim.request(
                "GET", "/api/v0/users/current/")
            self.assertEqual(status, 429)
            self.assertEqual(headers.get("Content-Type"), "text/plain")
            self.assertIsNone(headers.get("Retry-After"))
            self.assertTrue(body.startswith(b"API requests too frequent"))
        self.sim.json("GET", "/api/v0/users/current/")

    def test_fault_kinds(self):
        self.sim.admin("POST", "faults", {"fault_rate": 1,
                                          "kinds": ["502"]})
        status, headers, body = self.sim.request("GET",
                                                 "/api/v1/instances/")
        self.assertEqual(status, 502)
        self.assertIn(b"502 Bad Gateway", body)

        self.sim.admin("POST", "faults", {"kinds": ["malformed"]})
        status, headers, body = self.sim.request("GET",
                                                 "/api/v0/users/current/")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("Content-Type"), "application/json")
        with self.assertRaises(ValueError):
            json.loads(body)

        self.sim.admin("POST", "faults", {"kinds": ["slow"],
                                          "slow_seconds": 0.5})
        started = time.monotonic()
        self.sim.json("GET", "/api/v0/users/current/")
        self.assertGreaterEqual(time.monotonic() - started, 0.5)

        self.sim.admin("POST", "faults", {"kinds": ["timeout"],
                                          "hold_seconds": 3})
        with self.assertRaises(OSError):
            self.sim.request("GET", "/api/v0/users/current/", timeout=0.5)
        self.sim.admin("POST", "faults", {"fault_rate": 0})
        self.sim.json("GET", "/api/v0/users/current/")

    def test_timeout_after_create(self):
        # The rental happens but its reply is withheld: a client that
        # timed out finds the instance by its label.
        offer = cheapest(self.sim)
        self.sim.admin("POST", "faults", {"hold_seconds": 2})
        self.sim.admin("POST", "events", {"event": "fault",
                                          "kind": "timeout", "count": 1})
        with self.assertRaises(OSError):
            self.sim.request("PUT", "/api/v0/asks/%d/" % offer["id"],
                             {"image": "img", "label": "lost-reply"},
                             timeout=0.5)
        page = self.sim.json("GET", "/api/v1/instances/")
        self.assertEqual([i["label"] for i in page["instances"]],
                         ["lost-reply"])

    def test_random_create_events(self):
        self.sim.admin("POST", "faults", {"event_rates": {
            "gone_offer": 1}})
        offer = cheapest(self.sim)
        body = self.sim.create(offer["id"], {"image": "img"}, expect=404)
        self.assertIn("no_such_ask", body["msg"])

        self.sim.admin("POST", "faults", {"event_rates": {
            "gone_offer": 0, "low_bid": 1}})
        offer = cheapest(self.sim, kind="bid")
        body = self.sim.create(offer["id"], {"image": "img",
                                             "price": offer["min_bid"]},
                               expect=400)
        self.assertEqual(body["error"], "invalid_price")
        inst = self.sim.show(body["new_contract"])
        self.assertEqual(inst["intended_status"], "stopped")
        self.assertGreater(inst["min_bid"], offer["min_bid"])

    def test_fault_rate_deterministic(self):
        def statuses():
            sim = Sim("--seed", "5", "--fault-rate", "0.5",
                      "--faults", "429,500,503")
            try:
                return [sim.request("GET", "/api/v0/users/current/")[0]
                        for _ in range(30)]
            finally:
                sim.stop()
        first = statuses()
        self.assertEqual(first, statuses())
        self.assertIn(200, first)
        self.assertTrue(set(first) - {200})
        self.assertTrue(set(first) <= {200, 429, 500, 503})


class V0List(SimTestCase):
    args = ("--v0-list", "gone")

    def test_v0_list_gone(self):
        status, headers, body = self.sim.request("GET", "/api/v0/instances/")
        self.assertEqual(status, 410)
        self.assertEqual(body, b"Use /api/v1/instances/ instead")
        self.sim.admin("POST", "faults", {"v0_list": "normal"})
        body = self.sim.json("GET", "/api/v0/instances/")
        self.assertEqual(body, {"instances_found": 0, "instances": []})


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_sim_http.py SIMULATOR [unittest options]")
    SIM = sys.argv.pop(1)
    unittest.main(verbosity=2)

"""Start-up of the S3 test environment: s3rver and the proxy on 127.0.0.1.

Every test talks to s3rver through proxy.py, which checks the signature of
each request.  The test credentials below are fake and exist only so that a
grep of the logs can prove that none of them leaked.  All output of the
servers and of every command goes to files under LogDir, which
test_zz_no_secret_in_logs() reads.
"""
import atexit
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.environ.get('HOIST_BUILD_DIR', os.path.join(HERE, '..', '..',
                                                           'build'))
TOOL = os.path.join(BUILD_DIR, 'tests', 's3', 's3_tool')
S3RVER = os.path.join(HERE, 's3rver', 'node_modules', 's3rver', 'bin',
                      's3rver.js')

ACCESS_KEY = 'AKIAHOISTTEST0000001'
SECRET_KEY = 'hoistTestSecret/0001+Not=Real/Key0000000'
SESSION_TOKEN = 'FwoGZXIvYXdzEHoistTestSessionToken/0001+Not=Real=='
SECRETS = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)
BUCKET = 'hoist-test'
REGION = 'eu-west-3'

# The logs of a test run stay here until the run ends.  Servers and tool()
# create the folder.
LOG_DIR = os.environ.get('HOIST_S3_LOG_DIR') or os.path.join(
    tempfile.gettempdir(), 'hoist-s3-logs-%d' % os.getpid())


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def write_random(path, size, seed):
    """Writes size pseudo-random bytes, the same for the same seed."""
    block = hashlib.sha256(b'%d' % seed).digest() * 32768   # 1 MiB
    with open(path, 'wb') as f:
        left = size
        i = 0
        while left > 0:
            chunk = block[i % 97:] + block[:i % 97]
            f.write(chunk[:min(left, len(chunk))])
            left -= min(left, len(chunk))
            i += 1


def find_leaks():
    """Returns (file, secret prefix) for each test secret in LOG_DIR."""
    leaks = []
    for root, _, names in os.walk(LOG_DIR):
        for name in names:
            with open(os.path.join(root, name), 'rb') as f:
                data = f.read()
            for secret in SECRETS:
                if secret.encode() in data:
                    leaks.append((name, secret[:6] + '...'))
    return leaks


def remove_logs():
    """Removes LOG_DIR unless the caller chose it with HOIST_S3_LOG_DIR."""
    if not os.environ.get('HOIST_S3_LOG_DIR'):
        shutil.rmtree(LOG_DIR, ignore_errors=True)


# Every process that imports this module removes its logs when it exits.
atexit.register(remove_logs)


def run_setup():
    subprocess.run([os.path.join(HERE, 'setup.sh')], check=True)


class Servers:
    """An s3rver and a proxy in front of it, both stopped by stop()."""

    def __init__(self, name, skew_seconds=0, fault_config=None):
        self.name = name
        os.makedirs(LOG_DIR, exist_ok=True)
        self.data = tempfile.mkdtemp(prefix='hoist-s3rver-')
        self.s3rver_port = free_port()
        self.procs = []
        self.s3rver_log = open(os.path.join(LOG_DIR, name + '-s3rver.log'),
                               'ab')
        try:
            self._start(skew_seconds, fault_config)
        except BaseException:
            self.stop()
            raise

    def _start(self, skew_seconds, fault_config):
        # s3rver encrypts ListObjectsV2 continuation tokens with DES, which
        # OpenSSL 3 keeps in its legacy provider.
        self.procs.append(subprocess.Popen(
            ['node', '--openssl-legacy-provider', S3RVER, '-d', self.data,
             '-a', '127.0.0.1', '-p', str(self.s3rver_port), '--service-endpoint', 'localhost',
             '--configure-bucket', BUCKET],
            stdout=self.s3rver_log, stderr=subprocess.STDOUT))
        self._wait_port(self.s3rver_port)
        self.proxy_log = os.path.join(LOG_DIR, self.name + '-proxy.log')
        proxy = subprocess.Popen(
            ['/usr/bin/python3', os.path.join(HERE, 'proxy.py'),
             '--upstream-port', str(self.s3rver_port),
             '--credentials', ACCESS_KEY + ':' + SECRET_KEY,
             '--skew-seconds', str(skew_seconds),
             '--config', json.dumps(fault_config or {}),
             '--log', self.proxy_log],
            stdout=subprocess.PIPE, stderr=self.s3rver_log)
        self.procs.append(proxy)
        self.port = int(proxy.stdout.readline())
        proxy.stdout.close()
        self._wait_port(self.port)

    @staticmethod
    def _wait_port(port):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(('127.0.0.1', port), 0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError('nothing listens on 127.0.0.1:%d' % port)

    def url(self, prefix='t', **options):
        opts = {'endpoint': 'http://127.0.0.1:%d' % self.port,
                'region': REGION, 'backoff_ms': '20',
                'backoff_max_ms': '500'}
        opts.update({k: str(v) for k, v in options.items()})
        query = '&'.join('%s=%s' % kv for kv in opts.items())
        return 's3://%s/%s?%s' % (BUCKET, prefix, query)

    def proxy_call(self, path, body=None):
        req = urllib.request.Request(
            'http://127.0.0.1:%d%s' % (self.port, path),
            data=json.dumps(body).encode() if body is not None else None,
            method='POST' if body is not None else 'GET')
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b'{}')

    def set_faults(self, **config):
        base = {'status_503': 0, 'status_503_empty': 0, 'status_500': 0,
                'status_429': 0, 'reset_request': 0, 'reset_response': 0,
                'delay': 0, 'delay_ms': 0, 'only_methods': [], 'every': 0,
                'reset_stats': True}
        base.update(config)
        self.proxy_call('/__proxy/config', base)

    def stats(self):
        return self.proxy_call('/__proxy/stats')

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.s3rver_log.close()
        shutil.rmtree(self.data, ignore_errors=True)


def tool_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    env.update({'AWS_ACCESS_KEY_ID': ACCESS_KEY,
                'AWS_SECRET_ACCESS_KEY': SECRET_KEY,
                'AWS_SESSION_TOKEN': SESSION_TOKEN,
                'AWS_CONFIG_FILE': '/nonexistent/hoist-test/config',
                'AWS_SHARED_CREDENTIALS_FILE':
                    '/nonexistent/hoist-test/credentials'})
    env.update(extra or {})
    return env


class ToolResult:
    def __init__(self, proc, stdout, stderr):
        self.returncode = proc.returncode
        self.stdout = stdout
        self.stderr = stderr
        self.stats = {}
        for line in stderr.splitlines():
            if line.startswith('stats '):
                for item in line.split()[1:]:
                    k, _, v = item.partition('=')
                    self.stats[k] = int(v)


def tool(*args, env=None, timeout=600):
    """Runs s3_tool --stats with args; logs its output under LOG_DIR."""
    cmd = [TOOL, '--stats'] + list(args)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env or tool_env())
    out, err = proc.communicate(timeout=timeout)
    os.makedirs(LOG_DIR, exist_ok=True)
    out = out.decode('utf-8', 'replace')
    err = err.decode('utf-8', 'replace')
    with open(os.path.join(LOG_DIR, 'tool.log'), 'a') as log:
        log.write('$ %s\n%s%s[exit %d]\n' % (' '.join(args), out, err,
                                            proc.returncode))
    return ToolResult(proc, out, err)

#!/usr/bin/python3
"""Compares S3 uploads and downloads of hoist, the AWS CLI and rclone.

    bench/s3_bench.py BUILD_DIR [SCRATCH_FOLDER] [--sizes-mib 1024,4096]
                      [--runs 1]

BUILD_DIR is a configured and built hoist build folder (it provides
tests/s3/s3_tool).  The script installs s3rver with tests/s3/setup.sh and
starts it on 127.0.0.1 with its data under SCRATCH_FOLDER (default: a new
folder under $TMPDIR or /tmp).  For each size it writes one random file.
Each client then uploads it, downloads it, checks the bytes and deletes
the object.  hoist runs three times.  The first run is the way the
checkpoint layer uses it, summing the CRC-32C of the bytes it sends or
receives.  The second computes the SHA-256 that staged inputs use.  The
third computes no checksum, as the AWS CLI and rclone run.  Each command is timed from
outside, and its CPU time
(user + system, children included) comes from wait4().  The clients run
one after the other against the same server with their default settings,
except that each is pointed at the server.  s3rver is a single Node.js
process, so the throughput it allows caps every client.

It prints one Markdown table row per size, client and direction, and the
exact commands.  It needs about 4 x the largest size of free disk.
"""
import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
S3RVER = os.path.join(ROOT, 'tests', 's3', 's3rver', 'node_modules',
                      's3rver', 'bin', 's3rver.js')
BUCKET = 'bench'
GIB = 1 << 30


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(('127.0.0.1', port), 0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError('s3rver did not start on 127.0.0.1:%d' % port)


def timed(cmd, env):
    """Runs cmd; returns (wall seconds, CPU seconds of it and its children)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    err = proc.stderr.read().decode('utf-8', 'replace')
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError('%s failed (exit %d): %s' % (cmd[0], code,
                                                        err[-2000:]))
    return wall, usage.ru_utime + usage.ru_stime


def write_random(path, size):
    block = os.urandom(1 << 20)
    with open(path, 'wb') as f:
        for i in range(size >> 20):
            f.write(block[i % 251:] + block[:i % 251])


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def clients(tool, port, src, dst, key):
    endpoint = 'http://127.0.0.1:%d' % port
    url = 's3://%s?endpoint=%s&region=us-east-1' % (BUCKET, endpoint)
    s3_key = 's3://%s/%s' % (BUCKET, key)
    return {
        'hoist': ([tool, '--crc32c', 'put', url, key, src],
                  [tool, '--crc32c', 'get', url, key, dst],
                  [tool, 'rm', url, key]),
        'hoist with SHA-256': ([tool, 'put', url, key, src],
                               [tool, 'get', url, key, dst],
                               [tool, 'rm', url, key]),
        'hoist without checksum': ([tool, '--no-digest', 'put', url, key,
                                    src],
                                   [tool, '--no-digest', 'get', url, key,
                                    dst],
                                   [tool, 'rm', url, key]),
        'aws': (['/usr/bin/aws', '--endpoint-url', endpoint, '--no-progress',
                 's3', 'cp', src, s3_key],
                ['/usr/bin/aws', '--endpoint-url', endpoint, '--no-progress',
                 's3', 'cp', s3_key, dst],
                ['/usr/bin/aws', '--endpoint-url', endpoint, 's3', 'rm',
                 s3_key]),
        'rclone': (['/usr/bin/rclone', '--config', '/dev/null', 'copyto',
                    src, 'bench:%s/%s' % (BUCKET, key)],
                   ['/usr/bin/rclone', '--config', '/dev/null', 'copyto',
                    'bench:%s/%s' % (BUCKET, key), dst],
                   ['/usr/bin/rclone', '--config', '/dev/null', 'deletefile',
                    'bench:%s/%s' % (BUCKET, key)]),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('build_dir')
    parser.add_argument('scratch', nargs='?')
    parser.add_argument('--sizes-mib', default='1024,4096')
    parser.add_argument('--runs', type=int, default=1)
    args = parser.parse_args()

    tool = os.path.join(os.path.abspath(args.build_dir), 'tests', 's3',
                        's3_tool')
    scratch = args.scratch or tempfile.mkdtemp(prefix='hoist-s3-bench-')
    os.makedirs(scratch, exist_ok=True)
    subprocess.run([os.path.join(ROOT, 'tests', 's3', 'setup.sh')],
                   check=True)

    port = free_port()
    data = os.path.join(scratch, 's3rver-data')
    os.makedirs(data, exist_ok=True)
    log = open(os.path.join(scratch, 's3rver.log'), 'ab')
    server = subprocess.Popen(
        ['node', '--openssl-legacy-provider', S3RVER, '-d', data,
         '-a', '127.0.0.1', '-p', str(port), '--silent',
         '--configure-bucket', BUCKET], stdout=log, stderr=log)
    # s3rver accepts only its own fixed key pair.
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    env.update({'AWS_ACCESS_KEY_ID': 'S3RVER', 'AWS_SECRET_ACCESS_KEY':
                'S3RVER', 'AWS_REGION': 'us-east-1',
                'AWS_EC2_METADATA_DISABLED': 'true',
                'AWS_CONFIG_FILE': '/nonexistent/config',
                'AWS_SHARED_CREDENTIALS_FILE': '/nonexistent/credentials',
                'RCLONE_CONFIG_BENCH_TYPE': 's3',
                'RCLONE_CONFIG_BENCH_PROVIDER': 'Other',
                'RCLONE_CONFIG_BENCH_ENDPOINT': 'http://127.0.0.1:%d' % port,
                'RCLONE_CONFIG_BENCH_ACCESS_KEY_ID': 'S3RVER',
                'RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY': 'S3RVER',
                'RCLONE_CONFIG_BENCH_REGION': 'us-east-1'})
    rows = []
    try:
        wait_port(port)
        for size_mib in [int(s) for s in args.sizes_mib.split(',')]:
            src = os.path.join(scratch, 'src-%d' % size_mib)
            dst = os.path.join(scratch, 'dst-%d' % size_mib)
            write_random(src, size_mib << 20)
            digest = sha256_file(src)
            for run in range(args.runs):
                for name, (up, down, rm) in clients(
                        tool, port, src, dst, 'obj-%d' % size_mib).items():
                    for direction, cmd in (('upload', up),
                                           ('download', down)):
                        subprocess.run(['sync'], check=True)
                        wall, cpu = timed(cmd, env)
                        rows.append((size_mib, name, direction, run, wall,
                                     cpu, cmd))
                        print('run %d: %d MiB %s %s: %.1f s, %.2f CPU s'
                              % (run + 1, size_mib, name, direction, wall,
                                 cpu), file=sys.stderr, flush=True)
                    if sha256_file(dst) != digest:
                        raise RuntimeError('%s downloaded other bytes' %
                                           name)
                    os.unlink(dst)
                    timed(rm, env)
            os.unlink(src)
    finally:
        server.terminate()
        server.wait()
        log.close()
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)

    print('| size | client | direction | throughput (median) | '
          'CPU s per GiB (median) | runs |')
    print('|---|---|---|---|---|---|')
    groups = {}
    for size_mib, name, direction, _, wall, cpu, _ in rows:
        groups.setdefault((size_mib, name, direction), []).append(
            (wall, cpu))
    for (size_mib, name, direction), samples in groups.items():
        walls = sorted(w for w, _ in samples)
        cpus = sorted(c for _, c in samples)
        wall = walls[len(walls) // 2]
        cpu = cpus[len(cpus) // 2]
        print('| %d MiB | %s | %s | %.0f MiB/s | %.2f | %d |'
              % (size_mib, name, direction, size_mib / wall,
                 cpu / (size_mib / 1024.0), len(samples)))

    print('\nCommands (SIZE is the file size in MiB, PORT the s3rver port):')
    seen = set()
    for size_mib, name, direction, _, _, _, cmd in rows:
        if (name, direction) in seen:
            continue
        seen.add((name, direction))
        text = ' '.join(cmd).replace(str(port), 'PORT')
        text = text.replace(scratch, '$SCRATCH').replace(
            'obj-%d' % size_mib, 'obj-SIZE').replace(
            'src-%d' % size_mib, 'src-SIZE').replace(
            'dst-%d' % size_mib, 'dst-SIZE').replace(
            os.path.abspath(args.build_dir), 'BUILD')
        print('- %s %s: `%s`' % (name, direction, text))
    return 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/python3
"""A fault-injecting, signature-checking HTTP proxy for the S3 tests.

It sits between the client under test and s3rver, both on 127.0.0.1, and
for every request:

1. checks the AWS Signature Version 4 (an Authorization header or a
   presigned query string) with its own implementation below, written from
   the AWS documentation independently of the C signer, and the body's
   SHA-256 when x-amz-content-sha256 carries one.  A mismatch gets 403
   SignatureDoesNotMatch or 400 XAmzContentSHA256Mismatch;
2. optionally returns RequestTimeTooSkewed when the request time is more
   than 15 minutes away from its own clock, which can be set ahead with
   --skew-seconds;
3. injects faults at configurable rates (or on every Nth request): 503 SlowDown (with or without a
   body), 500 InternalError, 429, a connection reset part-way through the
   request or the response body, and a delay before responding;
4. removes the authentication (s3rver does not check SigV4) and forwards
   the request to s3rver.

Counters are served at GET /__proxy/stats, and POST /__proxy/config with a
JSON object changes the fault rates at run time.  No secret is logged:
query parameters that carry credentials or signatures are redacted.
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import http.server
import json
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse

FAULTS = ('status_503', 'status_503_empty', 'status_500', 'status_429',
          'reset_request', 'reset_response', 'delay')
AUTH_QUERY = ('X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date',
              'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature',
              'X-Amz-Security-Token')
REDACT = re.compile(r'(X-Amz-(?:Signature|Credential|Security-Token)=)'
                    r'[^&\s]*', re.IGNORECASE)
MAX_SKEW = 15 * 60


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def hmac_sha256(key, msg):
    return hmac.new(key, msg.encode('utf-8'), hashlib.sha256).digest()


def uri_encode(text, keep_slash):
    """Percent-encodes everything outside the RFC 3986 unreserved set."""
    return urllib.parse.quote(text, safe='/~' if keep_slash else '~')


def canonical_query(raw_query, drop=()):
    pairs = []
    for item in raw_query.split('&') if raw_query else []:
        name, _, value = item.partition('=')
        name = urllib.parse.unquote(name)
        value = urllib.parse.unquote(value)
        if name in drop:
            continue
        pairs.append((uri_encode(name, False), uri_encode(value, False)))
    pairs.sort()
    return '&'.join('%s=%s' % pair for pair in pairs)


def header_value(value):
    return ' '.join(value.strip().split())


def signature(secret, amz_date, region, canonical_request):
    scope_date = amz_date[:8]
    scope = '%s/%s/s3/aws4_request' % (scope_date, region)
    string_to_sign = '\n'.join([
        'AWS4-HMAC-SHA256', amz_date, scope,
        sha256_hex(canonical_request.encode('utf-8'))])
    key = hmac_sha256(('AWS4' + secret).encode('utf-8'), scope_date)
    key = hmac_sha256(key, region)
    key = hmac_sha256(key, 's3')
    key = hmac_sha256(key, 'aws4_request')
    return hmac.new(key, string_to_sign.encode('utf-8'),
                    hashlib.sha256).hexdigest()


class Rejection(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Proxy:
    def __init__(self, args):
        self.upstream_port = args.upstream_port
        self.credentials = dict(c.split(':', 1) for c in args.credentials)
        self.skew = args.skew_seconds
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.config = {name: 0.0 for name in FAULTS}
        self.config['delay_ms'] = 0
        self.config['reset_after'] = 0.5
        self.config['only_methods'] = []
        self.config['every'] = 0
        self.matched = 0
        self.stats = {'requests': 0, 'forwarded': 0, 'signature_ok': 0,
                      'signature_failures': 0, 'payload_mismatches': 0,
                      'skew_rejections': 0, 'presigned': 0,
                      'unsigned_payloads': 0, 'signed_payloads': 0}
        for name in FAULTS:
            self.stats[name] = 0
        self.log = open(args.log, 'a', buffering=1) if args.log else None

    def now(self):
        return time.time() + self.skew

    def count(self, name):
        with self.lock:
            self.stats[name] = self.stats.get(name, 0) + 1

    def pick_fault(self, method):
        with self.lock:
            only = self.config.get('only_methods') or []
            if only and method not in only:
                return None
            every = self.config.get('every') or 0
            if every:
                # Deterministic mode: every Nth request gets the first
                # fault whose rate is set.
                self.matched += 1
                if self.matched % every:
                    return None
                for name in FAULTS:
                    if self.config[name] > 0:
                        self.stats[name] += 1
                        return name
                return None
            for name in FAULTS:
                if self.rng.random() < self.config[name]:
                    self.stats[name] += 1
                    return name
        return None

    def write_log(self, line):
        if self.log:
            self.log.write(REDACT.sub(r'\1REDACTED', line) + '\n')

    def check_time(self, amz_date):
        try:
            t = datetime.datetime.strptime(amz_date, '%Y%m%dT%H%M%SZ')
        except ValueError:
            raise Rejection(403, 'AccessDenied',
                            'invalid request time %r' % amz_date)
        t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
        if abs(t - self.now()) > MAX_SKEW:
            self.count('skew_rejections')
            raise Rejection(403, 'RequestTimeTooSkewed',
                            'The difference between the request time and '
                            'the current time is too large.')
        return t

    def presigned_fields(self, query, raw_query):
        """Returns the signature inputs of a presigned request."""
        self.count('presigned')
        amz_date = query['X-Amz-Date']
        t = self.check_time(amz_date)
        if self.now() > t + int(query['X-Amz-Expires']):
            raise Rejection(403, 'AccessDenied', 'Request has expired')
        return (query['X-Amz-Credential'].split('/'), amz_date,
                query['X-Amz-SignedHeaders'].split(';'),
                query['X-Amz-Signature'], 'UNSIGNED-PAYLOAD',
                canonical_query(raw_query, drop=('X-Amz-Signature',)))

    def check_payload(self, payload, body):
        """Checks x-amz-content-sha256 against the body it describes."""
        if payload == 'UNSIGNED-PAYLOAD':
            self.count('unsigned_payloads')
            return
        if not re.fullmatch(r'[0-9a-f]{64}', payload):
            raise Rejection(400, 'InvalidArgument',
                            'unsupported x-amz-content-sha256 %r' % payload)
        self.count('signed_payloads')
        if sha256_hex(body) != payload:
            self.count('payload_mismatches')
            raise Rejection(400, 'XAmzContentSHA256Mismatch',
                            'The provided x-amz-content-sha256 header does '
                            'not match what was computed.')

    def header_fields(self, headers, raw_query, body):
        """Returns the signature inputs of an Authorization header."""
        m = re.match(r'AWS4-HMAC-SHA256 Credential=([^,]+), *'
                     r'SignedHeaders=([^,]+), *Signature=([0-9a-f]+)$',
                     headers.get('Authorization', ''))
        if not m:
            raise Rejection(403, 'AccessDenied',
                            'missing or malformed Authorization header')
        signed = m.group(2).split(';')
        amz_date = headers.get('x-amz-date', '')
        self.check_time(amz_date)
        payload = headers.get('x-amz-content-sha256', '')
        self.check_payload(payload, body)

        # S3 requires host, the date, the payload hash and every x-amz-*
        # header in the signature.
        for name in ('host', 'x-amz-date', 'x-amz-content-sha256'):
            if name not in signed:
                raise Rejection(403, 'AccessDenied', '%s is not signed'
                                % name)
        for name in headers.keys():
            if name.lower().startswith('x-amz-') and \
                    name.lower() not in signed:
                raise Rejection(403, 'AccessDenied', '%s is not signed'
                                % name.lower())
        return (m.group(1).split('/'), amz_date, signed, m.group(3),
                payload, canonical_query(raw_query))

    def verify(self, method, raw_path, raw_query, headers, body):
        """Checks the signature; returns nothing or raises Rejection."""
        path = uri_encode(urllib.parse.unquote(raw_path), True)
        query = dict(urllib.parse.parse_qsl(raw_query,
                                            keep_blank_values=True))
        if 'X-Amz-Signature' in query:
            fields = self.presigned_fields(query, raw_query)
        else:
            fields = self.header_fields(headers, raw_query, body)
        credential, amz_date, signed, provided, payload, cquery = fields

        if len(credential) != 5 or credential[3:] != ['s3', 'aws4_request']:
            raise Rejection(403, 'AuthorizationHeaderMalformed',
                            'malformed credential scope')
        secret = self.credentials.get(credential[0])
        if secret is None:
            raise Rejection(403, 'InvalidAccessKeyId',
                            'The AWS Access Key Id you provided does not '
                            'exist in our records.')
        if credential[1] != amz_date[:8]:
            raise Rejection(403, 'AuthorizationHeaderMalformed',
                            'credential date does not match the request')

        lines = [method, path, cquery]
        for name in signed:
            value = headers.get(name)
            if value is None:
                raise Rejection(403, 'AccessDenied',
                                'signed header %s is missing' % name)
            lines.append('%s:%s' % (name, header_value(value)))
        canonical = '\n'.join(lines) + '\n\n' + ';'.join(signed) + '\n' + \
            payload
        expected = signature(secret, amz_date, credential[2], canonical)
        if not hmac.compare_digest(expected, provided):
            self.count('signature_failures')
            self.write_log('signature mismatch, canonical request:\n' +
                           re.sub(r'(?m)^(x-amz-security-token:).*$',
                                  r'\1REDACTED', canonical))
            raise Rejection(403, 'SignatureDoesNotMatch',
                            'The request signature we calculated does not '
                            'match the signature you provided.')
        self.count('signature_ok')

def error_body(code, message):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
            '<Message>%s</Message><RequestId>hoist-proxy</RequestId>'
            '</Error>' % (code, message)).encode()


def reset(sock):
    """Closes sock with a TCP reset instead of an orderly close."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack('ii', 1, 0))
        sock.close()
    except OSError:
        pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'hoist-s3-proxy'

    def log_message(self, fmt, *args):
        self.server.proxy.write_log(fmt % args)

    def read_body(self):
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b';')[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b''.join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get('Content-Length', 0)))

    def respond(self, status, body=b'', headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(body)))
        if body:
            self.send_header('Content-Type', 'application/xml')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def control(self):
        proxy = self.server.proxy
        if self.command == 'GET' and self.path == '/__proxy/stats':
            with proxy.lock:
                body = json.dumps(proxy.stats).encode()
            return self.respond(200, body)
        if self.command == 'POST' and self.path == '/__proxy/config':
            update = json.loads(self.read_body() or b'{}')
            with proxy.lock:
                proxy.config.update(update)
                if update.get('reset_stats'):
                    proxy.matched = 0
                    for name in proxy.stats:
                        proxy.stats[name] = 0
            return self.respond(200, b'{}')
        return self.respond(404)

    def handle_any(self):
        proxy = self.server.proxy
        if self.path.startswith('/__proxy/'):
            return self.control()
        proxy.count('requests')
        raw_path, _, raw_query = self.path.partition('?')
        fault = proxy.pick_fault(self.command)

        if fault == 'reset_request':
            length = int(self.headers.get('Content-Length', 0))
            if length > 1:
                self.rfile.read(int(length * proxy.config['reset_after']))
            self.close_connection = True
            reset(self.connection)
            return
        body = self.read_body()
        try:
            proxy.verify(self.command, raw_path, raw_query, self.headers,
                         body)
        except Rejection as e:
            headers = [('Date', self.date_time_string(int(proxy.now())))]
            return self.respond(e.status, error_body(e.code, e.message),
                               headers)
        except (KeyError, ValueError) as e:
            return self.respond(403, error_body('AccessDenied',
                                               'malformed signature: %s' % e))

        if fault == 'delay':
            time.sleep(proxy.config['delay_ms'] / 1000.0)
        elif fault in ('status_503', 'status_503_empty'):
            body = b'' if fault == 'status_503_empty' else error_body(
                'SlowDown', 'Please reduce your request rate.')
            return self.respond(503, body)
        elif fault == 'status_500':
            return self.respond(500, error_body(
                'InternalError', 'We encountered an internal error. '
                'Please try again.'))
        elif fault == 'status_429':
            return self.respond(429, error_body(
                'TooManyRequests', 'Please reduce your request rate.'))

        query = '&'.join(item for item in raw_query.split('&') if item and
                         urllib.parse.unquote(item.partition('=')[0])
                         not in AUTH_QUERY)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ('authorization',
                                        'transfer-encoding', 'expect',
                                        'content-length', 'connection')}
        headers['Content-Length'] = str(len(body))
        conn = http.client.HTTPConnection('127.0.0.1', proxy.upstream_port,
                                          timeout=300)
        try:
            conn.request(self.command, raw_path + ('?' + query if query
                                                   else ''),
                         body=body, headers=headers)
            resp = conn.getresponse()
            proxy.count('forwarded')
            self.send_response(resp.status)
            length = None
            for name, value in resp.getheaders():
                if name.lower() in ('connection', 'transfer-encoding',
                                    'keep-alive'):
                    continue
                if name.lower() == 'content-length':
                    length = int(value)
                self.send_header(name, value)
            data = resp.read()
            if length is None:
                self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            if self.command == 'HEAD':
                return
            if fault == 'reset_response' and len(data) > 1:
                self.wfile.write(data[:int(len(data) *
                                           proxy.config['reset_after'])])
                self.wfile.flush()
                self.close_connection = True
                reset(self.connection)
                return
            self.wfile.write(data)
        finally:
            conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--upstream-port', type=int, required=True)
    parser.add_argument('--credentials', action='append', default=[],
                        help='ACCESS_KEY_ID:SECRET accepted in signatures')
    parser.add_argument('--skew-seconds', type=float, default=0.0,
                        help='how far the proxy clock runs ahead')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--config', default='{}',
                        help='initial fault rates as a JSON object')
    parser.add_argument('--log', help='append request lines to this file')
    args = parser.parse_args()

    server = http.server.ThreadingHTTPServer(('127.0.0.1', args.port),
                                             Handler)
    server.daemon_threads = True
    server.proxy = Proxy(args)
    server.proxy.config.update(json.loads(args.config))
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    sys.exit(main())

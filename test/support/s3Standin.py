#!/usr/bin/env python3
"""An EC2 instance's metadata service (IMDSv2 only) and an S3 bucket, for the test host.

There is no AWS here. What an aws host's restic does with its instance role is checked against
these two stand-ins, run in the test host's network namespace (its `--network host` containers
reach them there):

- IMDS on 169.254.169.254:80: a session token for a PUT to /latest/api/token; the role's name and
  its temporary credentials only with that token (a request without one, IMDSv1, is refused 401).
- S3, path style, on --s3: PUT, GET (with Range), HEAD and DELETE of objects, ListObjectsV2 and
  HeadBucket, objects kept as files under --dir. Every request must carry the role's credentials
  (the access key ID in its SigV4 scope, with --region, and its session token); the signature itself
  is not recomputed. Each is then allowed or refused by the IAM policy in --policy (the role's own
  policy document, evaluated as IAM does for an allow-only policy: an action and resource that
  match a statement, its StringLike conditions met; a missing condition key does not match).
  aws-chunked bodies (SigV4 streaming, which minio-go sends over HTTP) are decoded.

Each S3 request is logged to --log as one JSON line: method, action, resource, prefix, allowed,
status, whether the role's credentials signed it. Stops on SIGTERM.
"""
import argparse
import fnmatch
import hashlib
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

ROLE = "copilotos-host-role"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--imds", default="169.254.169.254:80", help="address:port of the metadata service")
    p.add_argument("--s3", required=True, help="address:port of the S3 endpoint")
    p.add_argument("--region", required=True)
    p.add_argument("--policy", required=True, help="the role's IAM policy document (JSON file)")
    p.add_argument("--dir", required=True, help="folder keeping the buckets' objects")
    p.add_argument("--log", required=True, help="one JSON line per S3 request")
    return p.parse_args()


ARGS = parse_args()
CREDS = {"AccessKeyId": "ASIA" + secrets.token_hex(8).upper(), "SecretAccessKey": secrets.token_hex(20), "Token": secrets.token_hex(32)}
TOKENS = set()
LOCK = threading.Lock()
POLICY = json.load(open(ARGS.policy))


def listify(v):
    return v if isinstance(v, list) else [v]


def allowed(action, resource, context):
    for st in POLICY["Statement"]:
        if st.get("Effect") != "Allow" or action not in listify(st["Action"]):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in listify(st["Resource"])):
            continue
        met = True
        for key, patterns in st.get("Condition", {}).get("StringLike", {}).items():
            value = context.get(key)
            if value is None or not any(fnmatch.fnmatchcase(value, p) for p in listify(patterns)):
                met = False
        if met:
            return True
    return False


class Imds(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(400)
        token = secrets.token_urlsafe(24)
        with LOCK:
            TOKENS.add(token)
        self.reply(200, token.encode())

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") not in TOKENS:
            return self.reply(401)
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == base:
            return self.reply(200, ROLE.encode())
        if self.path == base + ROLE:
            now = time.time()
            body = dict(CREDS, Code="Success", Type="AWS-HMAC", LastUpdated=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)))
            body["Expiration"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 6 * 3600))
            return self.reply(200, json.dumps(body).encode(), "application/json")
        self.reply(404)


def dechunk(body):
    """SigV4 streaming payload: `<hex size>;chunk-signature=<sig>\\r\\n<data>\\r\\n` … ending with size 0."""
    out, i = b"", 0
    while True:
        end = body.index(b"\r\n", i)
        size = int(body[i:end].split(b";")[0], 16)
        if size == 0:
            return out
        out += body[end + 2 : end + 2 + size]
        i = end + 2 + size + 2


class S3(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", headers=None, head=False):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def error(self, status, code, head=False):
        body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message></Error>".encode()
        self.reply(status, body, {"Content-Type": "application/xml"}, head)

    def handle_s3(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        parts = urllib.parse.unquote(url.path).lstrip("/").split("/", 1)
        bucket, key = parts[0], (parts[1] if len(parts) > 1 else "")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth = self.headers.get("Authorization", "")
        scope = re.search(r"Credential=([^/]+)/\d{8}/([^/]+)/s3/aws4_request", auth)
        signed = bool(scope) and scope.group(1) == CREDS["AccessKeyId"] and scope.group(2) == ARGS.region
        signed = signed and self.headers.get("X-Amz-Security-Token") == CREDS["Token"]
        if key:
            action = {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "PUT": "s3:PutObject", "DELETE": "s3:DeleteObject"}[method]
            resource = f"arn:aws:s3:::{bucket}/{key}"
        else:
            action = "s3:GetBucketLocation" if "location" in query else "s3:ListBucket"
            resource = f"arn:aws:s3:::{bucket}"
        context = {"s3:prefix": query["prefix"]} if "prefix" in query else {}
        ok = signed and allowed(action, resource, context)
        if ok:
            status = self.serve(method, bucket, key, query, body)
        else:
            self.error(403, "AccessDenied", method == "HEAD")
            status = 403
        entry = {"method": method, "action": action, "resource": resource, "prefix": query.get("prefix"), "signed": signed, "allowed": ok, "status": status}
        with LOCK, open(ARGS.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def serve(self, method, bucket, key, query, body):
        root = os.path.join(ARGS.dir, bucket)
        path = os.path.join(root, key)
        head = method == "HEAD"
        if not key and method in ("GET", "HEAD"):
            if head:
                self.reply(200, head=True)
                return 200
            return self.list(root, bucket, query)
        if method == "PUT":
            if "aws-chunked" in self.headers.get("Content-Encoding", "") or self.headers.get("X-Amz-Content-Sha256", "").startswith("STREAMING-"):
                body = dechunk(body)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path + ".part", "wb") as f:
                f.write(body)
            os.replace(path + ".part", path)
            self.reply(200, headers={"ETag": f"\"{hashlib.md5(body).hexdigest()}\""})
            return 200
        if not os.path.isfile(path):
            self.error(404, "NoSuchKey", head)
            return 404
        if method == "DELETE":
            os.remove(path)
            self.reply(204)
            return 204
        data = open(path, "rb").read()
        headers = {"ETag": f"\"{hashlib.md5(data).hexdigest()}\"", "Last-Modified": formatdate(os.path.getmtime(path), usegmt=True), "Content-Type": "application/octet-stream"}
        m = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
        if m:
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else len(data) - 1, len(data) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            self.reply(206, data[start : end + 1], headers, head)
            return 206
        self.reply(200, data, headers, head)
        return 200

    def list(self, root, bucket, query):
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        keys = []
        for d, _, files in os.walk(root):
            keys += [os.path.relpath(os.path.join(d, f), root) for f in files if not f.endswith(".part")]
        contents, prefixes = [], set()
        for k in sorted(keys):
            if not k.startswith(prefix):
                continue
            rest = k[len(prefix) :]
            if delimiter and delimiter in rest:
                prefixes.add(prefix + rest.split(delimiter)[0] + delimiter)
                continue
            p = os.path.join(root, k)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(os.path.getmtime(p)))
            contents.append(f"<Contents><Key>{escape(k)}</Key><LastModified>{stamp}</LastModified><Size>{os.path.getsize(p)}</Size><StorageClass>STANDARD</StorageClass></Contents>")
        common = "".join(f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>" for p in sorted(prefixes))
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(contents) + len(prefixes)}</KeyCount>"
            f"<MaxKeys>1000</MaxKeys><Delimiter>{escape(delimiter)}</Delimiter><IsTruncated>false</IsTruncated>{''.join(contents)}{common}</ListBucketResult>"
        )
        self.reply(200, xml.encode(), {"Content-Type": "application/xml"})
        return 200

    def do_GET(self):
        self.handle_s3("GET")

    def do_HEAD(self):
        self.handle_s3("HEAD")

    def do_PUT(self):
        self.handle_s3("PUT")

    def do_DELETE(self):
        self.handle_s3("DELETE")


def serve(address, handler):
    host, port = address.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


servers = [serve(ARGS.imds, Imds), serve(ARGS.s3, S3)]
print(f"s3 stand-in: IMDS on {ARGS.imds}, S3 on {ARGS.s3}", flush=True)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.pause()

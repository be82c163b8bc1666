"""Process management and an HTTPS client for the Salt Mail API suite.

- Server: `saltmaild init` + `saltmaild serve` on 127.0.0.1 port 0 with a
  fresh temporary data folder; waits for the ready line; stops with
  SIGTERM, then kill after a grace period. Every server started is tracked
  and stop_all() (also registered with atexit) stops what is left.
- Client: one HTTPS request per connection, trusting DIR/tls/cert.pem;
  returns a Response with status, headers, body and parsed JSON.
- Account: a real signup with keys made by saltcrypto, then login.
- SmtpSink: an SMTP server on a free loopback port that keeps what it is
  sent, standing in for a smarthost (aiosmtpd, Debian's python3-aiosmtpd).
- start_bridge_serve: `saltbridge serve` started, its stdout read past the
  IMAP listeners' lines to its ready line.
- poll: a condition retried until it holds or its time is up.
"""
import atexit
import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

import saltcrypto as sc

READY_RE = re.compile(r"^saltmaild: ready https://127\.0\.0\.1:(\d+)$")
BRIDGE_LISTEN_RE = re.compile(
    rb"^saltbridge: (IMAP|SMTP) on \S*:(\d+) \((STARTTLS|TLS)\)$")
START_TIMEOUT = 30
STOP_GRACE = 5
REQUEST_TIMEOUT = 30

_servers = []
_servers_lock = threading.Lock()
KEEP_DATA = False


def new_key():
    """A fresh Idempotency-Key."""
    return uuid.uuid4().hex


def read_lines(stream):
    """A queue a thread fills with the lines of stream, then None at its
    end."""
    lines = queue.Queue()

    def reader():
        for raw in stream:
            lines.put(raw)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    return lines


def poll(fn, timeout, interval=0.1):
    """Calls fn until it returns something truthy or the time is up;
    returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


def start_bridge_serve(saltbridge, home, err_file, args=(),
                       timeout=START_TIMEOUT):
    """Starts `saltbridge --home HOME --log-level info serve ARGS` with its
    stderr to err_file (SMTP on a free port unless ARGS say otherwise: the
    default 1025 would be shared), and reads its stdout past the
    listeners' lines ("saltbridge: IMAP on ADDR:PORT (STARTTLS)", or
    "(TLS)", and the same for SMTP), waiting up to timeout seconds for
    each line. Returns (the Popen, the line after them or None when serve
    printed none, {"STARTTLS" or "TLS": IMAP port, "SMTP" or "SMTPS":
    SMTP port}). The caller closes the Popen's stdout."""
    args = list(args)
    if "--smtp-port" not in args:
        args += ["--smtp-port", "0"]
    proc = subprocess.Popen(
        [saltbridge, "--home", home, "--log-level", "info", "serve"]
        + args,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err_file)
    lines = read_lines(proc.stdout)
    ports = {}
    while True:
        try:
            raw = lines.get(timeout=timeout)
        except queue.Empty:
            raw = None
        m = BRIDGE_LISTEN_RE.match(raw.rstrip(b"\r\n")) if raw else None
        if m is None:
            return proc, raw, ports
        kind = m.group(3).decode()
        if m.group(1) == b"SMTP":
            kind = "SMTP" if kind == "STARTTLS" else "SMTPS"
        ports[kind] = int(m.group(2))


class ServerError(Exception):
    pass


class Server:
    """One saltmaild instance with its own data folder."""

    def __init__(self, binary, flags=(), name="server"):
        self.binary = binary
        self.flags = list(flags)
        self.name = name
        self.proc = None
        self.port = None
        self.data = None
        self.tmp = None
        self.ssl_context = None
        self.returncode = None

    # lifecycle ---------------------------------------------------------

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="saltmaild-api-%s-" % self.name)
        self.data = os.path.join(self.tmp, "data")
        with _servers_lock:
            _servers.append(self)
        r = subprocess.run([self.binary, "init", "--data", self.data],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=START_TIMEOUT)
        if r.returncode != 0:
            raise ServerError("saltmaild init failed (%d): %s"
                              % (r.returncode,
                                 r.stderr.decode(errors="replace")))
        self.cert = os.path.join(self.data, "tls", "cert.pem")
        if not os.path.exists(self.cert):
            raise ServerError("saltmaild init made no %s" % self.cert)
        return self._serve()

    def restart(self, before_start=None, same_port=False):
        """Stops saltmaild and serves the same data folder again, on
        another port or (same_port) on the same one, where clients logged
        in to its URL find it again; before_start() runs while it is
        stopped."""
        port = self.port
        self.stop(keep_data=True)
        if before_start is not None:
            before_start()
        with _servers_lock:
            _servers.append(self)
        if not same_port:
            return self._serve()
        # Waits until the port can be bound again (as saltmaild binds it).
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise ServerError("port %d stays taken" % port)
                time.sleep(0.2)
            finally:
                probe.close()
        return self._serve(port)

    def _serve(self, port=0):
        self.stderr_path = os.path.join(self.tmp, "serve.stderr")
        self._stderr = open(self.stderr_path, "ab")
        cmd = [self.binary, "serve", "--data", self.data,
               "--listen", "127.0.0.1:%d" % port] + self.flags
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=self._stderr,
                                     start_new_session=True)
        lines = read_lines(self.proc.stdout)
        try:
            raw = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.stop()
            raise ServerError("saltmaild serve printed no ready line in %d s"
                              % START_TIMEOUT)
        if raw is None:
            self.stop()
            raise ServerError("saltmaild serve exited before it was ready: "
                              + self.stderr_tail())
        self.ready_line = raw.decode("utf-8", "replace").rstrip("\r\n")
        m = READY_RE.match(self.ready_line)
        if not m:
            self.stop()
            raise ServerError("unexpected ready line %r" % self.ready_line)
        self.port = int(m.group(1))
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ssl_context = ctx
        return self

    def stop(self, keep_data=False):
        """SIGTERM, wait, then SIGKILL. Returns the exit code. A server
        that did not exit 0, or whose stderr holds a sanitizer report, is
        recorded in PROBLEMS: the suite then fails. keep_data leaves the
        data folder for a restart."""
        was_running = self.proc is not None and self.proc.poll() is None
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.returncode = self.proc.returncode
            if self.proc.stdout:
                self.proc.stdout.close()
        if getattr(self, "_stderr", None):
            self._stderr.close()
            self._stderr = None
        tail = self.stderr_tail(20000) if self.proc is not None else ""
        if self.proc is not None and (
                (was_running and self.returncode != 0)
                or "Sanitizer" in tail or "runtime error:" in tail):
            PROBLEMS.append("saltmaild (%s) exited %r:\n%s"
                            % (self.tmp, self.returncode, tail[-4000:]))
        self.proc = None
        if self.tmp and not KEEP_DATA and not keep_data:
            shutil.rmtree(self.tmp, ignore_errors=True)
        with _servers_lock:
            if self in _servers:
                _servers.remove(self)
        return self.returncode

    def stderr_tail(self, n=2000):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    # saltmaild subcommands against this data folder -----------------------

    def user_add(self, email, password):
        r = subprocess.run([self.binary, "user", "add", "--data", self.data,
                            email, "--password-stdin"],
                           input=password.encode("utf-8"),
                           capture_output=True, timeout=60)
        if r.returncode != 0:
            raise ServerError("saltmaild user add failed (%d): %s"
                              % (r.returncode,
                                 r.stderr.decode(errors="replace")))

    def deliver(self, to, message, mailbox=None):
        cmd = [self.binary, "deliver", "--data", self.data, "--to", to]
        if mailbox is not None:
            cmd += ["--mailbox", mailbox]
        r = subprocess.run(cmd, input=message, capture_output=True,
                           timeout=60)
        if r.returncode != 0:
            raise ServerError("saltmaild deliver failed (%d): %s"
                              % (r.returncode,
                                 r.stderr.decode(errors="replace")))

    # HTTP -------------------------------------------------------------

    def connect(self, timeout=REQUEST_TIMEOUT):
        return http.client.HTTPSConnection("127.0.0.1", self.port,
                                           context=self.ssl_context,
                                           timeout=timeout)

    def request(self, method, path, body=None, token=None, key=None,
                headers=None, raw=None, idem=None):
        """One request on a new connection.

        body: a JSON value to send (serialised here); raw: bytes to send
        as they are (with the content type in headers). idem: True adds a
        fresh Idempotency-Key, a string sends that key, None adds a fresh
        key for POST/PUT/PATCH/DELETE except prelogin and login, False
        sends none.
        """
        hdrs = {"Accept": "application/json"}
        if headers:
            hdrs.update(headers)
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        if key is not None:
            idem = key
        if idem is None:
            idem = (method in ("POST", "PUT", "PATCH", "DELETE")
                    and not path.startswith("/api/v1/auth/prelogin")
                    and not path.startswith("/api/v1/auth/login"))
        if idem is True:
            hdrs["Idempotency-Key"] = new_key()
        elif idem:
            hdrs["Idempotency-Key"] = idem
        data = None
        if raw is not None:
            data = raw
            hdrs.setdefault("Content-Type", "application/octet-stream")
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        elif method in ("POST", "PUT", "PATCH"):
            data = b""
        if data is not None:
            hdrs["Content-Length"] = str(len(data))
        conn = self.connect()
        try:
            try:
                conn.request(method, path, body=data, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                # The server may answer (413) and close before it reads a
                # large body; read what it said.
                pass
            resp = conn.getresponse()
            payload = resp.read()
            return Response(resp.status, resp.getheaders(), payload)
        finally:
            conn.close()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.header_list = headers
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self._json = None
        self._parsed = False

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    @property
    def json(self):
        if not self._parsed:
            self._parsed = True
            try:
                self._json = json.loads(self.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self._json = None
        return self._json

    @property
    def error_type(self):
        j = self.json
        if isinstance(j, dict) and isinstance(j.get("error"), dict):
            return j["error"].get("type")
        return None

    def __repr__(self):
        text = self.body[:400].decode("utf-8", "replace")
        return "<%d %s>" % (self.status, text)


# Servers that exited badly or reported sanitizer errors (see stop()).
PROBLEMS = []


def stop_all():
    with _servers_lock:
        left = list(_servers)
    for s in left:
        try:
            s.stop()
        except Exception:
            pass


atexit.register(stop_all)


# Accounts ----------------------------------------------------------------

_counter = [0]
_counter_lock = threading.Lock()


def unique_email(prefix="user", domain="example.org"):
    with _counter_lock:
        _counter[0] += 1
        n = _counter[0]
    return "%s%d-%s@%s" % (prefix, n, os.urandom(3).hex(), domain)


def new_account_id():
    return os.urandom(16).hex()


class Account:
    """A signed-up account: its identity (keys), email and session."""

    def __init__(self, server, email, ident):
        self.server = server
        self.email = email
        self.ident = ident
        self.account_id = ident.account_id
        self.access_token = None
        self.refresh_token = None
        self.login_response = None

    # requests as this account
    def req(self, method, path, body=None, **kw):
        kw.setdefault("token", self.access_token)
        return self.server.request(method, path, body, **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, body, **kw)

    def login(self, auth_key=None):
        r = self.server.request("POST", "/api/v1/auth/login", {
            "email": self.email,
            "auth_key": sc.b64e(auth_key or self.ident.auth_key)})
        if r.status == 200:
            self.login_response = r.json
            self.access_token = r.json["access_token"]
            self.refresh_token = r.json["refresh_token"]
        return r

    def signup_body(self, invite=None):
        body = {"email": self.email, "account_id": self.account_id,
                "auth_key": sc.b64e(self.ident.auth_key),
                "kdf": self.ident.kdf_json(), "keys": self.ident.keys_json()}
        if invite is not None:
            body["invite"] = invite
        return body

    # helpers used everywhere
    def mailboxes(self):
        r = self.get("/api/v1/mailboxes")
        if r.status != 200:
            raise AssertionError("GET mailboxes: %r" % r)
        return r.json

    def mailbox_by_role(self, role):
        for mb in self.mailboxes()["mailboxes"]:
            if mb["role"] == role:
                return mb
        raise AssertionError("no mailbox with role %s" % role)

    def state(self):
        return self.mailboxes()["state"]

    def upload(self, data, transient=False, **kw):
        path = "/api/v1/blobs" + ("?transient=true" if transient else "")
        return self.req("POST", path, raw=data, **kw)

    def upload_ok(self, data, transient=False):
        r = self.upload(data, transient)
        if r.status != 201:
            raise AssertionError("blob upload: %r" % r)
        return r.json["blob_id"]

    def make_message(self, subject="test", text="hello", to=None,
                     sign=True):
        to = to if to is not None else [self.email]
        body = sc.rfc5322(self.email, to, subject, text)
        return sc.Message(body, sender=self.email, recipients=to,
                          signer=self.ident if sign else None)

    def import_body(self, mailbox_ids, msg=None, keywords=(),
                    received_at=None, blob_id=None):
        msg = msg or self.make_message()
        if blob_id is None:
            blob_id = self.upload_ok(msg.stream)
        body = {"blob_id": blob_id, "summary": sc.b64e(msg.summary),
                "key_packet": sc.b64e(msg.key_packet(self.ident.enc_pk)),
                "mailbox_ids": list(mailbox_ids), "keywords": list(keywords)}
        if received_at is not None:
            body["received_at"] = received_at
        return body, msg

    def import_message(self, mailbox_ids, msg=None, keywords=(),
                       received_at=None):
        body, msg = self.import_body(mailbox_ids, msg, keywords, received_at)
        r = self.post("/api/v1/messages/import", body)
        if r.status != 201:
            raise AssertionError("import: %r" % r)
        return r.json, msg


def make_identity(account_id, password=None):
    password = password or ("pw-" + os.urandom(12).hex())
    return sc.Identity(account_id, password)


def signup(server, email=None, invite=None, login=True):
    """A real signup with real keys, then (by default) a login."""
    email = email or unique_email()
    ident = make_identity(new_account_id())
    acct = Account(server, email.lower(), ident)
    acct.email_as_given = email
    body = acct.signup_body(invite)
    body["email"] = email
    r = server.request("POST", "/api/v1/signup", body)
    if r.status != 201:
        raise AssertionError("signup of %s: %r" % (email, r))
    acct.signup_response = r
    if login:
        r = acct.login()
        if r.status != 200:
            raise AssertionError("login of %s: %r" % (email, r))
    return acct


class EventStream:
    """GET /api/v1/events read on a thread; events arrive in a queue as
    (event, data) pairs; comments are ignored."""

    def __init__(self, server, token):
        self.conn = server.connect(timeout=30)
        self.conn.request("GET", "/api/v1/events", headers={
            "Authorization": "Bearer " + token,
            "Accept": "text/event-stream"})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.content_type = self.resp.getheader("Content-Type", "")
        self.events = queue.Queue()
        self.closed = False
        self.error = None
        if self.status != 200:
            self.error = Response(self.status, self.resp.getheaders(),
                                  self.resp.read())
        if self.status == 200:
            self.thread = threading.Thread(target=self._read, daemon=True)
            self.thread.start()

    def _read(self):
        event, data = None, []
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                line = line.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if data or event:
                        self.events.put((event or "message", "\n".join(data)))
                    event, data = None, []
                    continue
                if line.startswith(":"):
                    continue
                field, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
        except Exception:
            pass
        self.events.put(None)

    def next(self, timeout=5):
        """The next (event, data), or None on timeout or end of stream."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def ended(self, timeout=5):
        """True when the server ends the stream within timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ev = self.events.get(timeout=deadline - time.monotonic())
            except (queue.Empty, ValueError):
                return False
            if ev is None:
                return True
        return False

    def wait_state(self, pred, timeout=5):
        """Reads state events until pred(state) holds; returns the state or
        None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ev = self.next(timeout=left)
            if ev is None:
                return None
            if ev[0] == "state":
                state = json.loads(ev[1])["state"]
                if pred(state):
                    return state

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            if self.conn.sock is not None:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.conn.close()
        except Exception:
            pass


def qs(**params):
    return urllib.parse.urlencode({k: v for k, v in params.items()
                                   if v is not None})


# A smarthost ---------------------------------------------------------------

class SmtpSink:
    """aiosmtpd on 127.0.0.1 and a free port, on its own thread and event
    loop. Every message accepted is kept in `messages` as (mail_from,
    rcpt_tos, content bytes as received, dot-unstuffed). Recipients in
    `refuse` are refused with 550."""

    def __init__(self):
        import asyncio
        from aiosmtpd.smtp import SMTP
        self.messages = []
        self.refuse = set()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server = None
        self.port = None
        ready = threading.Event()
        failure = []

        def run():
            asyncio.set_event_loop(self._loop)
            try:
                self._server = self._loop.run_until_complete(
                    self._loop.create_server(
                        lambda: SMTP(self, hostname="sink.test"),
                        "127.0.0.1", 0))
                self.port = self._server.sockets[0].getsockname()[1]
            except Exception as e:
                failure.append(e)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT) or failure:
            raise ServerError("the SMTP sink did not start: %r" % failure)

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 <%s>: Recipient address rejected" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append((envelope.mail_from,
                                  list(envelope.rcpt_tos),
                                  envelope.original_content))
        return "250 2.0.0 OK"

    def received(self):
        with self._lock:
            return list(self.messages)

    def stop(self):
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STOP_GRACE)
        if not self._thread.is_alive():
            self._loop.close()


# The run of a test file -----------------------------------------------------

class CountingResult(unittest.TextTestResult):
    """A result that also counts the tests that passed."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


class Runner(unittest.TextTestRunner):
    resultclass = CountingResult


def run_suite(module, argv, binaries, targets=None):
    """Runs the unittest cases of module (a module object) with the
    conventions every suite here keeps: options --NAME PATH for each name
    in binaries, set as the upper-case global NAME of each module in
    targets (default: module); --keep to keep data folders; SIGTERM as an
    interrupt; every server stopped at the end; a server that exited badly
    or reported a sanitizer error counts as a failure; and a last line
    "N passed, M failed". Returns the exit code: 0, 1, or 2 for usage."""
    targets = targets or [module]
    found = {}
    args, rest = list(argv[1:]), [argv[0]]
    i = 0
    while i < len(args):
        a = args[i]
        name = a[2:].split("=", 1)[0] if a.startswith("--") else None
        if name in binaries and "=" in a:
            found[name] = a.split("=", 1)[1]
        elif name in binaries and i + 1 < len(args):
            found[name] = args[i + 1]
            i += 1
        elif a == "--keep":
            global KEEP_DATA
            KEEP_DATA = True
        else:
            rest.append(a)
        i += 1
    missing = [b for b in binaries if b not in found]
    if missing:
        print("usage: %s %s [--keep] [unittest options]"
              % (os.path.basename(argv[0]),
                 " ".join("--%s PATH" % b for b in binaries)),
              file=sys.stderr)
        return 2
    for b, path in found.items():
        path = os.path.abspath(path)
        if not os.access(path, os.X_OK):
            print("%s: %s is not an executable" % (argv[0], path),
                  file=sys.stderr)
            return 2
        for t in targets:
            setattr(t, b.upper(), path)

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    prog = None
    try:
        prog = unittest.main(module=module, argv=rest, exit=False,
                             testRunner=Runner)
    finally:
        stop_all()
    res = prog.result
    failed = len(res.failures) + len(res.errors) + \
        len(res.unexpectedSuccesses)
    for problem in PROBLEMS:
        print("FAIL: %s" % problem, file=sys.stderr)
        failed += 1
    sys.stdout.flush()
    sys.stderr.flush()
    print("%d passed, %d failed" % (res.passed, failed))
    return 0 if failed == 0 and res.testsRun > 0 else 1

#!/usr/bin/python3
"""Real mail clients against saltbridge serve: mbsync (isync) and mutt.

    /usr/bin/python3 tests/imap/test_clients.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

The fixture of test_imap_login.py. 500 generated messages (sizes from a
few lines to two megabytes, multiparts with attachments, encoded words and
raw UTF-8 in headers, flags; the same bytes on every run) are put into
the account's INBOX with `saltmaild import` from a Maildir; once the
bridge's INBOX holds them all:

- mbsync, over STARTTLS trusting the bridge's certificate, pulls INBOX
  into a Maildir: every message there must be the imported one, byte for
  byte (matched by Message-ID), with its flags; a second run with nothing
  changed must transfer nothing (its counters and the Maildir say so).
- mutt, in a pseudo-terminal with keys pushed from the command line,
  opens INBOX over STARTTLS, finds one message by its Message-ID and
  pipes it out; it must be the imported message (mutt keeps messages
  with LF line ends, as they were imported).
- curl fetches one message by UID over STARTTLS: exactly the bytes.

The clients come from Debian (packaging/debian-deps.txt, kind test).
Not under ctest yet: imap/CMakeLists.txt says why. The last line
printed is "N passed, M failed".
"""
import base64
import fcntl
import imaplib
import os
import pty
import random
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import test_imap_login as base  # noqa: E402

COUNT = 500
SEED = 20261103
# Deadlines are generous: a 2-core machine running the sanitizer build
# decrypts every body the first time a client asks for it.
IMPORT_WAIT = 120
SYNC_WAIT = 120
CLIENT_TIMEOUT = 120
MSGID_RE = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)",
                      re.IGNORECASE | re.MULTILINE)
_state = {}


# The messages -------------------------------------------------------------

WORDS = ("mail bridge local replica cipher summary envelope literal "
         "folder sync offline client server message body header part "
         "attachment boundary charset encoded word quoted printable").split()
NAMES = [("Alice Martin", "alice@example.org"),
         ("Bob", "bob@example.net"),
         ("Zoë Ångström", "zoe@example.org"),
         ("Jürgen Groß", "juergen@example.de"),
         ("Émilie Dubois", "emilie@example.fr"),
         ("山田太郎", "yamada@example.jp"),
         ("Carol", "carol@example.com")]
SUBJECTS = ["Weekly report", "Café meeting at noon", "Re: Grüße aus Köln",
            "Résumé attached", "日本語の件名", "Invoice 2026-11",
            "Fwd: photos ❤", "Plain ASCII subject"]


def encoded_word(text, rng):
    """text as one RFC 2047 encoded word, B or Q, in UTF-8 (or in
    ISO-8859-1 when it fits, now and then)."""
    charset = "UTF-8"
    try:
        text.encode("latin-1")
        if rng.random() < 0.3:
            charset = "ISO-8859-1"
    except UnicodeEncodeError:
        pass
    raw = text.encode(charset)
    if rng.random() < 0.5:
        return "=?%s?B?%s?=" % (charset, base64.b64encode(raw).decode())
    q = "".join(chr(b) if (0x30 <= b <= 0x39 or 0x41 <= b <= 0x5a or
                           0x61 <= b <= 0x7a) else
                "_" if b == 0x20 else "=%02X" % b for b in raw)
    return "=?%s?Q?%s?=" % (charset, q)


def header_text(text, rng, raw_ok):
    """Non-ASCII header text: raw UTF-8 (RFC 6532) now and then, else an
    encoded word; ASCII as it is."""
    if all(ord(c) < 128 for c in text):
        return text
    if raw_ok and rng.random() < 0.25:
        return text
    return encoded_word(text, rng)


def address(name, addr, rng, raw_ok):
    if all(ord(c) < 128 for c in name):
        return '"%s" <%s>' % (name, addr) if " " in name else \
            "%s <%s>" % (name, addr)
    return "%s <%s>" % (header_text(name, rng, raw_ok), addr)


def paragraph(rng, words):
    out, line = [], []
    for _ in range(words):
        line.append(rng.choice(WORDS))
        if len(" ".join(line)) > 66:
            out.append(" ".join(line))
            line = []
    if line:
        out.append(" ".join(line))
    return "\n".join(out) + "\n"


def base64_lines(data):
    text = base64.b64encode(data).decode()
    return "\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + "\n"


def make_message(i, rng):
    """Message i: its bytes (LF line ends, as a Maildir holds them)."""
    raw_ok = i % 7 == 3
    name, addr = NAMES[i % len(NAMES)]
    to_name, to_addr = NAMES[(i * 3 + 1) % len(NAMES)]
    subject = "%s #%d" % (SUBJECTS[i % len(SUBJECTS)], i)
    day = 1 + i % 28
    hdr = ["Return-Path: <%s>" % addr,
           "From: %s" % address(name, addr, rng, raw_ok),
           "To: %s" % address(to_name, to_addr, rng, raw_ok),
           "Subject: %s" % header_text(subject, rng, raw_ok),
           "Date: %s, %d Nov 2026 %02d:%02d:%02d +0100"
           % (("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")[day % 7],
              day, i % 24, i % 60, (i * 7) % 60),
           "Message-ID: <msg%04d.%d@clients.saltbridge.test>" % (i, SEED)]
    if i % 11 == 5:
        # A folded header.
        hdr.append("References: <ref%04d.a@example.org>\n"
                   "\t<ref%04d.b@example.org>" % (i, i))
    if i % 4 != 3:
        hdr.append("MIME-Version: 1.0")
    kind = i % 5
    size = rng.choice((3, 20, 200, 2000, 8000))
    if i % 97 == 13:
        size = 150000   # a long text, about a megabyte
    if kind in (0, 1):
        charset = "utf-8" if kind == 0 else "us-ascii"
        body = paragraph(rng, size)
        if kind == 0:
            body = "Grüße, ünïcödé body.\n" + body
        hdr += ["Content-Type: text/plain; charset=%s" % charset,
                "Content-Transfer-Encoding: 8bit"]
        return ("\n".join(hdr) + "\n\n" + body).encode("utf-8")
    if kind == 2:
        b = "alt-%d" % i
        hdr.append('Content-Type: multipart/alternative; boundary="%s"' % b)
        text = paragraph(rng, size)
        body = ("This is a multi-part message in MIME format.\n"
                "--%s\nContent-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: quoted-printable\n\n"
                "caf=C3=A9 =E2=9C=93\n%s"
                "--%s\nContent-Type: text/html; charset=utf-8\n\n"
                "<html><body><p>%s</p></body></html>\n"
                "--%s--\n" % (b, text, b, text.replace("\n", "<br>\n"), b))
        return ("\n".join(hdr) + "\n\n" + body).encode("utf-8")
    # Mixed, with one to three attachments; some nest an alternative
    # part or a forwarded message.
    b = "mixed-%d" % i
    hdr.append('Content-Type: multipart/mixed; boundary="%s"' % b)
    parts = ["Content-Type: text/plain; charset=utf-8\n\n"
             + paragraph(rng, size)]
    for k in range(1 + i % 3):
        blob = rng.randbytes(rng.choice((10, 700, 5000, 40000)))
        fname = ("pièce-%d-%d.bin" % (i, k)) if k % 2 else \
            "file-%d-%d.dat" % (i, k)
        if all(ord(c) < 128 for c in fname):
            disp = 'attachment; filename="%s"' % fname
        else:
            disp = "attachment; filename*=UTF-8''" + "".join(
                chr(c) if chr(c).isalnum() or chr(c) in ".-" else
                "%%%02X" % c for c in fname.encode())
        parts.append("Content-Type: application/octet-stream\n"
                     "Content-Transfer-Encoding: base64\n"
                     "Content-Disposition: %s\n\n%s"
                     % (disp, base64_lines(blob)))
    if kind == 4 and i % 2 == 0:
        inner = "inner-%d" % i
        parts.append('Content-Type: multipart/alternative; '
                     'boundary="%s"\n\n--%s\nContent-Type: text/plain\n\n'
                     'inner text\n--%s\nContent-Type: text/html\n\n'
                     '<b>inner</b>\n--%s--\n' % (inner, inner, inner, inner))
    if kind == 4 and i % 2 == 1:
        parts.append("Content-Type: message/rfc822\n\n"
                     "From: %s\nSubject: %s\nMessage-ID: "
                     "<inner%04d@example.org>\n\nForwarded text.\n"
                     % (address(name, addr, rng, False),
                        encoded_word("Weitergeleitet: Grüße", rng), i))
    body = "".join("--%s\n%s" % (b, p) for p in parts) + "--%s--\n" % b
    return ("\n".join(hdr) + "\n\n" + body).encode("utf-8")


MAILDIR_FLAGS = ("", "S", "S", "FS", "RS", "", "D", "S")


def write_maildir(path, count=COUNT):
    """A Maildir of count messages; returns {Message-ID: (bytes, flags)}
    with the flags as Maildir letters."""
    rng = random.Random(SEED)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub))
    messages = {}
    for i in range(count):
        data = make_message(i, rng)
        msgid = MSGID_RE.search(data).group(1)
        flags = MAILDIR_FLAGS[i % len(MAILDIR_FLAGS)]
        base_name = "%d.M%dP1.clients" % (1700000000 + i, i)
        if i % 10 == 9:
            name = os.path.join(path, "new", base_name)
            flags = ""
        else:
            name = os.path.join(path, "cur", base_name + ":2," + flags)
        with open(name, "wb") as f:
            f.write(data)
        os.utime(name, (1790000000 + i * 60, 1790000000 + i * 60))
        messages[msgid] = (data, flags)
    return messages


def read_maildir(path):
    """{Message-ID: (bytes, flags, file name)} of a Maildir's cur/ and
    new/."""
    out = {}
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            m = MSGID_RE.search(data.split(b"\n\n", 1)[0])
            msgid = m.group(1) if m else name.encode()
            flags = name.split(":2,", 1)[1] if ":2," in name else ""
            out.setdefault(msgid, []).append((data, flags,
                                              sub + "/" + name))
    return out


def strip_tuid(data):
    """The message without the X-TUID header mbsync adds to the header
    of what it stores (its way to find a message again after storing it,
    a header the imported messages do not have)."""
    head, sep, body = data.partition(b"\n\n")
    lines = [ln for ln in head.split(b"\n")
             if not ln.lower().startswith(b"x-tuid:")]
    return b"\n".join(lines) + sep + body


# The fixture: the account's INBOX filled once ---------------------------

def setup_inbox(test):
    """Imports the generated Maildir once and waits for the bridge's
    INBOX to hold it all. Returns {Message-ID: (bytes, Maildir flags)}."""
    if "messages" in _state:
        return _state["messages"]
    if "failed" in _state:
        test.fail("the INBOX was not filled: " + _state["failed"])
    try:
        return fill_inbox(test)
    except BaseException as e:
        _state["failed"] = str(e)[:2000]
        raise


def fill_inbox(test):
    b = base.fixture()
    srv = base._fixture["server"]
    tmp = tempfile.mkdtemp(prefix="saltbridge-clients-")
    _state["tmp"] = tmp
    src = os.path.join(tmp, "source")
    messages = write_maildir(src)
    test.assertEqual(len(messages), COUNT)
    started = time.monotonic()
    r = subprocess.run([base.SALTMAILD, "import", "--data", srv.data,
                        "--to", b.email, src], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=IMPORT_WAIT)
    err = r.stderr.decode("utf-8", "replace")
    test.assertEqual(r.returncode, 0, err)
    test.assertIn(b"imported %d messages (0 skipped" % COUNT, r.stdout)
    imported = time.monotonic() - started
    m = login(b)
    try:
        def count():
            typ, data = m.status("INBOX", "(MESSAGES)")
            return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))
        got = harness.poll(lambda: count() >= COUNT, SYNC_WAIT, 0.5)
        test.assertTrue(got, "the bridge's INBOX holds %d of %d messages"
                        % (count(), COUNT))
        test.assertEqual(count(), COUNT)
    finally:
        m.logout()
    synced = time.monotonic() - started
    print("\n  import %.1f s, in the bridge's INBOX after %.1f s"
          % (imported, synced), file=sys.stderr)
    _state["messages"] = messages
    return messages


def login(b):
    m = imaplib.IMAP4("127.0.0.1", b.port, timeout=base.RUN_TIMEOUT)
    m.starttls(ssl_context=b.context())
    m.login(b.email, b.password)
    return m


def tearDownModule():
    tmp = _state.get("tmp")
    if tmp and not harness.KEEP_DATA:
        shutil.rmtree(tmp, ignore_errors=True)
    base.tearDownModule()


def client_env(home):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MUTT", "MAIL", "CURL"))}
    env.update({"HOME": home, "LC_ALL": "C.UTF-8", "TZ": "UTC"})
    return env


# mbsync ------------------------------------------------------------------

# mbsync's counters: channels and boxes done, then for each side messages
# added, flags changed and trashed (isync 1.5 adds expunged), done/total.
MBSYNC_SIDE = (r"\+(\d+)/(\d+) \*(\d+)/(\d+) #(\d+)/(\d+)"
               r"(?: -\d+/\d+)?")
MBSYNC_COUNTERS_RE = re.compile(
    r"C: (\d+)/(\d+)\s+B: (\d+)/(\d+)\s+F: %s\s+N: %s"
    % (MBSYNC_SIDE, MBSYNC_SIDE))


class ClientTest(unittest.TestCase):
    """A test with the filled INBOX (self.messages: {Message-ID:
    (bytes, flags)}) and a folder of its own, self.tmp, which is the
    client's HOME too."""
    program = None

    def setUp(self):
        if shutil.which(self.program) is None:
            self.fail("%s is missing: sh packaging/install-deps.sh test"
                      % self.program)
        self.b = base.fixture()
        self.messages = setup_inbox(self)
        self.tmp = tempfile.mkdtemp(prefix=self.program + "-",
                                    dir=_state["tmp"])

    def pick(self, i):
        """Message i's Message-ID and bytes."""
        msgid = b"<msg%04d.%d@clients.saltbridge.test>" % (i, SEED)
        return msgid, self.messages[msgid][0]


class MbsyncTest(ClientTest):
    program = "mbsync"

    def setUp(self):
        super().setUp()
        self.mail = os.path.join(self.tmp, "mail")
        os.makedirs(self.mail)
        self.config = os.path.join(self.tmp, "mbsyncrc")
        with open(self.config, "w") as f:
            f.write("IMAPAccount bridge\n"
                    "Host 127.0.0.1\n"
                    "Port %d\n"
                    "User %s\n"
                    "Pass %s\n"
                    "SSLType STARTTLS\n"
                    "CertificateFile %s\n"
                    "\n"
                    "IMAPStore bridge\n"
                    "Account bridge\n"
                    "\n"
                    "MaildirStore local\n"
                    "Path %s/\n"
                    "Inbox %s/INBOX\n"
                    "\n"
                    "Channel inbox\n"
                    "Far :bridge:\n"
                    "Near :local:\n"
                    "Patterns INBOX\n"
                    "Sync Pull\n"
                    "Create Near\n"
                    "Expunge None\n"
                    "SyncState *\n"
                    % (self.b.port, self.b.email, self.b.password,
                       self.b.cert, self.mail, self.mail))

    def mbsync(self, name):
        """Runs mbsync -V on the channel in a pseudo-terminal, where it
        draws its counters; returns what it printed and the time it took.
        The output goes to NAME.log beside the config (--keep keeps it).
        When mbsync fails, a second run with -Dn logs the IMAP exchange,
        whose end goes into the failure message."""
        env = dict(client_env(self.tmp), COLUMNS="200", TERM="vt100")
        started = time.monotonic()
        rc, out = run_in_pty(["mbsync", "-c", self.config, "-V", "inbox"],
                             env, CLIENT_TIMEOUT)
        took = time.monotonic() - started
        with open(os.path.join(self.tmp, name + ".log"), "w") as f:
            f.write(out)
        if rc != 0:
            r = subprocess.run(["mbsync", "-c", self.config, "-Dn", "inbox"],
                               stdin=subprocess.DEVNULL, capture_output=True,
                               env=env, timeout=CLIENT_TIMEOUT)
            debug = (r.stdout + r.stderr).decode("utf-8", "replace")
            with open(os.path.join(self.tmp, name + "-debug.log"), "w") as f:
                f.write(debug)
            self.fail("mbsync exited %d:\n%s\n-- again with -Dn:\n%s"
                      % (rc, out[-3000:], debug[-6000:]))
        return out, took

    def counters(self, out):
        """mbsync's last counters: {"C": (channels done, total, boxes
        done, total), "F": (new done, total, flags done, total, trashed
        done, total), "N": ...}, from its line "C: 1/1  B: 1/1  F: +0/0
        *0/0 #0/0  N: +500/500 *0/0 #0/0"."""
        found = MBSYNC_COUNTERS_RE.findall(out)
        self.assertTrue(found, "mbsync printed no counters:\n" + out[-2000:])
        last = [int(n) for n in found[-1]]
        return {"C": tuple(last[0:4]), "F": tuple(last[4:10]),
                "N": tuple(last[10:16])}

    def test_mbsync_mirror(self):
        out, first = self.mbsync("first")
        local = read_maildir(os.path.join(self.mail, "INBOX"))
        # What mbsync said beyond its counters: warnings, errors.
        said = "\n".join(ln for ln in out.replace("\r", "\n").split("\n")
                         if ln.strip() and "C: " not in ln)
        missing, twice, differ, flags_differ = [], [], [], []
        strangers = sorted(set(local) - set(self.messages))
        for msgid, (data, flags) in sorted(self.messages.items()):
            if msgid not in local:
                missing.append(msgid)
                continue
            if len(local[msgid]) != 1:
                twice.append(msgid)
            got, got_flags, name = local[msgid][0]
            if strip_tuid(got) != data:
                differ.append((msgid, name, len(data), len(got)))
            if got_flags != flags:
                flags_differ.append((msgid, flags, got_flags))
        self.assertEqual((missing, twice, strangers), ([], [], []),
                         "(not stored, stored more than once, not "
                         "imported) by mbsync, which said:\n" + said)
        self.assertEqual(differ, [], "(id, file, bytes imported, bytes "
                         "stored): not the bytes imported")
        self.assertEqual(flags_differ, [], "(id, imported, stored): flags")
        # One channel and one box done; the near side stored 500 new
        # messages of 500; nothing else, either way.
        self.assertEqual(self.counters(out), {
            "C": (1, 1, 1, 1), "F": (0,) * 6,
            "N": (COUNT, COUNT, 0, 0, 0, 0)}, out[-2000:])
        before = snapshot(os.path.join(self.mail, "INBOX"))

        # Nothing changed: nothing is transferred, either way, and the
        # Maildir keeps the same files with the same bytes.
        out, second = self.mbsync("second")
        self.assertEqual(self.counters(out), {
            "C": (1, 1, 1, 1), "F": (0,) * 6, "N": (0,) * 6}, out[-2000:])
        self.assertEqual(snapshot(os.path.join(self.mail, "INBOX")), before)

        # And again with the IMAP exchange logged (-Dn): the commands
        # mbsync sent fetch no message and change nothing.
        sent = [c for c in self.mbsync_commands() if not re.match(
            r"\d+ (STARTTLS|CAPABILITY|AUTHENTICATE|LOGIN|NAMESPACE|LIST|"
            r"SELECT|EXAMINE|LOGOUT)\b|\d+ UID FETCH \S+ \(UID FLAGS\)$",
            c)]
        self.assertEqual(sent, [], "commands beyond a look at the flags")
        self.assertEqual(snapshot(os.path.join(self.mail, "INBOX")), before)
        print("\n  mbsync: first run %.1f s, second run %.1f s"
              % (first, second), file=sys.stderr)

    def mbsync_commands(self):
        """The commands of an mbsync -Dn run, as it logged them (">>> 7
        UID FETCH 1:500 (UID FLAGS)" gives "7 UID FETCH 1:500 (UID
        FLAGS)")."""
        r = subprocess.run(["mbsync", "-c", self.config, "-Dn", "inbox"],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           env=client_env(self.tmp), timeout=CLIENT_TIMEOUT)
        log = (r.stdout + r.stderr).decode("utf-8", "replace")
        with open(os.path.join(self.tmp, "third-debug.log"), "w") as f:
            f.write(log)
        self.assertEqual(r.returncode, 0, log[-6000:])
        return [ln[4:].rstrip("\r") for ln in log.split("\n")
                if ln.startswith(">>> ")]


def snapshot(path):
    """{file name: bytes} of a Maildir's messages."""
    out = {}
    for sub in ("cur", "new", "tmp"):
        d = os.path.join(path, sub)
        for name in os.listdir(d):
            with open(os.path.join(d, name), "rb") as f:
                out[sub + "/" + name] = f.read()
    return out


# mutt and curl -----------------------------------------------------------

def run_in_pty(cmd, env, timeout, cwd=None):
    """Runs cmd with a pseudo-terminal of 80x24 as its standard input,
    output and error, as a person's terminal; returns (exit status, what
    it drew). The process is killed when timeout seconds pass."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                            env=env, cwd=cwd, start_new_session=True)
    os.close(slave)
    drawn = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            ready, _, _ = select.select([master], [], [], min(left, 1.0))
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the terminal's last user is gone
                    break
                if not data:
                    break
                drawn.append(data)
            elif proc.poll() is not None:
                break
        rc = proc.wait(timeout=30)
    finally:
        os.close(master)
    return rc, b"".join(drawn).decode("utf-8", "replace")


class MuttTest(ClientTest):
    program = "mutt"

    def test_mutt_reads_a_message(self):
        # Mixed, with attachments; \Seen already, so reading it changes
        # nothing (and mark_old=no keeps mutt from storing its Old flag).
        msgid, want = self.pick(428)
        out = os.path.join(self.tmp, "piped.eml")
        certs = os.path.join(self.tmp, "certificates")
        shutil.copyfile(self.b.cert, certs)
        muttrc = os.path.join(self.tmp, "muttrc")
        with open(muttrc, "w") as f:
            f.write('set folder="%s"\n'
                    'set imap_user="%s"\n'
                    'set imap_pass="%s"\n'
                    "set ssl_starttls=yes\n"
                    "set ssl_force_tls=yes\n"
                    'set certificate_file="%s"\n'
                    "set imap_passive=yes\n"
                    "set imap_check_subscribed=no\n"
                    'set header_cache=""\n'
                    'set message_cachedir=""\n'
                    "set mail_check=3600\n"
                    "set timeout=3600\n"
                    "set wait_key=no\n"
                    "set quit=yes\n"
                    "set pipe_decode=no\n"
                    "set move=no\n"
                    "set mark_old=no\n"
                    "set sort=date-sent\n"
                    % (self.tmp, self.b.email, self.b.password, certs))
        folder = "imap://%s@127.0.0.1:%d/INBOX" % (
            self.b.email.replace("@", "%40"), self.b.port)
        # A regular expression; its dots match themselves too.
        pattern = msgid[1:-1].decode()
        keys = ("<limit>~i '%s'<enter>"
                "<pipe-message>cat > '%s'<enter>"
                "<quit>" % (pattern, out))
        rc, drawn = run_in_pty(
            ["mutt", "-n", "-F", muttrc, "-f", folder,
             "-e", "push \"%s\"" % keys.replace('"', '\\"')],
            dict(client_env(self.tmp), TERM="vt100"), CLIENT_TIMEOUT)
        self.assertEqual(rc, 0, drawn[-3000:])
        # The certificate was trusted from certificate_file: mutt never
        # asked whether to accept it ("(r)eject, accept (o)nce").
        self.assertNotIn("eject", drawn)
        self.assertTrue(os.path.exists(out), "mutt piped nothing:\n"
                        + drawn[-3000:])
        with open(out, "rb") as f:
            got = f.read()
        self.assertEqual(got, want)

class CurlTest(ClientTest):
    program = "curl"

    def test_curl_fetches_a_message(self):
        # Alternative parts, \Seen already: curl's BODY[] changes nothing.
        msgid, want = self.pick(42)
        # UIDs follow the order the import read the Maildir in: find it.
        m = login(self.b)
        try:
            m.select("INBOX", readonly=True)
            typ, data = m.uid("FETCH", "1:*",
                              "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            self.assertEqual(typ, "OK")
            uid = None
            for item in data:
                if isinstance(item, tuple) and msgid in item[1]:
                    uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            self.assertIsNotNone(uid, msgid)
        finally:
            m.logout()
        netrc = os.path.join(self.tmp, "netrc")
        with open(netrc, "w") as f:
            f.write("machine 127.0.0.1 login %s password %s\n"
                    % (self.b.email, self.b.password))
        r = subprocess.run(
            ["curl", "--silent", "--show-error", "--ssl-reqd",
             "--cacert", self.b.cert, "--netrc-file", netrc,
             "imap://127.0.0.1:%d/INBOX;UID=%d" % (self.b.port, uid)],
            stdin=subprocess.DEVNULL, capture_output=True,
            env=client_env(self.tmp), timeout=CLIENT_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, want)


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"], [
                                 sys.modules[__name__], base])


if __name__ == "__main__":
    sys.exit(main(sys.argv))

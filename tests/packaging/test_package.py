#!/usr/bin/python3
"""The Debian package CPack makes of a build tree, and what it holds.

    /usr/bin/python3 tests/packaging/test_package.py --cpack PATH
        --build DIR --source DIR [unittest options]

`cpack -G DEB` runs once on the build tree's CPackConfig.cmake, into a
temporary folder (the build tree's binaries are packaged as they are,
nothing is rebuilt). Then, with dpkg-deb:

- the file list holds both programs (executable), the systemd user unit,
  both man pages and the documentation, under /usr, and no test program;
- the fields: Package saltbridge, the project's version, the machine's
  architecture, a Maintainer, and Depends naming the Debian packages of
  every library the programs link (libsodium23, libssl3, libcurl4,
  libjson-c5, libsqlite3-0, libmicrohttpd12);
- unpacked: the unit starts /usr/bin/saltbridge serve and passes
  `systemd-analyze verify` as a system and as a user unit (pointed at
  the unpacked program); the man pages render without a warning
  (`man --warnings`), and name every command and option the programs'
  --help lists; the programs run.

The launchd agent (packaging/org.saltbridge.serve.plist) must be a
property list that runs `saltbridge serve`.

Exits 77 (skipped) when dpkg-deb is missing. The last line printed is
"N passed, M failed".
"""
import argparse
import gzip
import os
import plistlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ARGS = None
TIMEOUT = 180
LIBRARIES = ("libsodium23", "libssl3", "libcurl4", "libjson-c5",
             "libsqlite3-0", "libmicrohttpd12")
_state = {}


def run(cmd, **kw):
    return subprocess.run(cmd, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=TIMEOUT, **kw)


def project_version():
    with open(os.path.join(ARGS.source, "CMakeLists.txt")) as f:
        return re.search(r"project\(saltbridge VERSION (\S+)",
                         f.read()).group(1)


def package():
    """Makes the package once: (its path, the unpacked tree)."""
    if "deb" in _state:
        return _state["deb"], _state["root"]
    tmp = tempfile.mkdtemp(prefix="saltbridge-package-")
    _state["tmp"] = tmp
    r = run([ARGS.cpack, "--config",
             os.path.join(ARGS.build, "CPackConfig.cmake"),
             "-G", "DEB", "-B", os.path.join(tmp, "out")])
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    assert r.returncode == 0, "cpack failed:\n" + out[-4000:]
    debs = [n for n in os.listdir(os.path.join(tmp, "out"))
            if n.endswith(".deb")]
    assert len(debs) == 1, "cpack made %r:\n%s" % (debs, out[-4000:])
    deb = os.path.join(tmp, "out", debs[0])
    root = os.path.join(tmp, "root")
    r = run(["dpkg-deb", "-x", deb, root])
    assert r.returncode == 0, r.stderr
    _state.update(deb=deb, root=root)
    return deb, root


def tearDownModule():
    if "tmp" in _state:
        shutil.rmtree(_state["tmp"], ignore_errors=True)


class PackageTest(unittest.TestCase):
    def setUp(self):
        self.deb, self.root = package()

    def field(self, name):
        r = run(["dpkg-deb", "-f", self.deb, name])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode().strip()

    def test_file_name_and_fields(self):
        arch = run(["dpkg", "--print-architecture"]).stdout.decode().strip()
        version = project_version()
        self.assertEqual(os.path.basename(self.deb),
                         "saltbridge_%s_%s.deb" % (version, arch))
        self.assertEqual(self.field("Package"), "saltbridge")
        self.assertEqual(self.field("Version"), version)
        self.assertEqual(self.field("Architecture"), arch)
        self.assertEqual(self.field("Section"), "mail")
        self.assertRegex(self.field("Maintainer"), r"^.+ <[^@ ]+@[^> ]+>$")
        self.assertIn("IMAP and SMTP", self.field("Description"))
        depends = self.field("Depends")
        # "libc6 (>= 2.34), libcurl4 (>= 7.16.2), ...": the names.
        names = {re.sub(r"[ (].*", "", alt.strip())
                 for dep in depends.split(",") for alt in dep.split("|")}
        for lib in LIBRARIES:
            self.assertIn(lib, names, "Depends: " + depends)

    def test_file_list(self):
        r = run(["dpkg-deb", "-c", self.deb])
        self.assertEqual(r.returncode, 0, r.stderr)
        entries = {}
        for line in r.stdout.decode().splitlines():
            # "-rwxr-xr-x root/root 123 2026-11-22 10:00 ./usr/bin/x"
            parts = line.split(None, 5)
            entries[parts[5]] = parts[0]
        want = {"./usr/bin/saltbridge": "-rwxr-xr-x",
                "./usr/bin/saltmaild": "-rwxr-xr-x",
                "./usr/lib/systemd/user/saltbridge.service": "-rw-r--r--",
                "./usr/share/man/man1/saltbridge.1.gz": "-rw-r--r--",
                "./usr/share/man/man8/saltmaild.8.gz": "-rw-r--r--",
                "./usr/share/doc/saltbridge/README.md": "-rw-r--r--",
                "./usr/share/doc/saltbridge/bridge.md": "-rw-r--r--"}
        for path, mode in want.items():
            self.assertIn(path, entries)
            self.assertEqual(entries[path], mode, path)
        for path in entries:
            self.assertTrue(path == "./" or path.startswith("./usr/"),
                            path)
            self.assertNotRegex(os.path.basename(path),
                                r"^(test|fuzz|bench)-", path)
        programs = [p for p, mode in entries.items()
                    if mode.startswith("-") and "x" in mode]
        self.assertEqual(sorted(programs), ["./usr/bin/saltbridge",
                                            "./usr/bin/saltmaild"])

    def test_unit(self):
        unit_path = os.path.join(self.root, "usr/lib/systemd/user",
                                 "saltbridge.service")
        with open(unit_path) as f:
            unit = f.read()
        self.assertIn("\nExecStart=/usr/bin/saltbridge serve\n", unit)
        self.assertIn("\nRestart=on-failure\n", unit)
        for line in ("NoNewPrivileges=yes", "ProtectSystem=strict",
                     "ProtectHome=read-only", "PrivateTmp=yes",
                     "PrivateDevices=yes", "ProtectKernelTunables=yes",
                     "ProtectKernelModules=yes", "LockPersonality=yes",
                     "MemoryDenyWriteExecute=yes", "RestrictRealtime=yes",
                     "SystemCallArchitectures=native",
                     "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                     "ReadWritePaths=-%h/.local/share/saltbridge "
                     "-%h/.config/saltbridge"):
            self.assertIn("\n" + line + "\n", unit)
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze is missing")
        # The unit as it is, but starting the unpacked program: verify
        # checks that ExecStart's program is there.
        tmp = os.path.join(_state["tmp"], "unit")
        os.makedirs(os.path.join(tmp, "run"), mode=0o700)
        copy = os.path.join(tmp, "saltbridge.service")
        with open(copy, "w") as f:
            f.write(unit.replace("/usr/bin/saltbridge", os.path.join(
                self.root, "usr/bin/saltbridge")))
        env = dict(os.environ, XDG_RUNTIME_DIR=os.path.join(tmp, "run"),
                   SYSTEMD_LOG_LEVEL="notice")
        for mode in ([], ["--user"]):
            r = run(["systemd-analyze"] + mode + ["verify", "--man=no",
                                                  copy], env=env)
            said = (r.stdout + r.stderr).decode("utf-8", "replace")
            self.assertEqual((r.returncode, said), (0, ""), mode)

    def man(self, page):
        path = os.path.join(self.root, "usr/share/man", page)
        with gzip.open(path, "rt") as f:
            source = f.read()
        with open(os.path.join(ARGS.source, "packaging",
                               os.path.basename(page)[:-3])) as f:
            self.assertEqual(source, f.read())
        if shutil.which("man") is None:
            self.skipTest("man is missing")
        r = run(["man", "--warnings", "-l", path],
                env=dict(os.environ, MANWIDTH="80",
                         LC_ALL="C.UTF-8"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.decode(), "", page)
        return source

    def help_of(self, program, *args):
        r = run([os.path.join(self.root, "usr/bin", program)] + list(args)
                + ["--help"], env=dict(os.environ,
                                       ASAN_OPTIONS="detect_leaks=0"))
        self.assertEqual(r.returncode, 0, (program, args, r.stderr))
        return r.stdout.decode()

    def assert_options_documented(self, source, usage, where):
        for opt in sorted(set(re.findall(r"--[a-z][a-z-]*", usage))):
            self.assertIn(opt.replace("-", "\\-"), source,
                          "%s is not in the man page (%s)" % (opt, where))

    def commands(self, usage):
        """The command names of a main usage: the first word of each line
        indented by two spaces after "commands:"."""
        block = usage.split("commands:\n", 1)[1].split("\n\n", 1)[0]
        return [m.group(1) for m in
                re.finditer(r"^  ([a-z][a-z-]*(?: [a-z]+)?)\b", block, re.M)]

    def test_saltbridge_man_page(self):
        source = self.man("man1/saltbridge.1.gz")
        usage = self.help_of("saltbridge")
        commands = [c.split()[0] for c in self.commands(usage)]
        self.assertIn("config", commands)
        self.assert_options_documented(source, usage, "saltbridge")
        for cmd in commands:
            self.assertIn("\n.SS %s\n" % cmd, source, cmd)
            self.assert_options_documented(
                source, self.help_of("saltbridge", cmd), cmd)

    def test_saltmaild_man_page(self):
        source = self.man("man8/saltmaild.8.gz")
        usage = self.help_of("saltmaild")
        commands = self.commands(usage)
        self.assertIn("user add", commands)
        # "user add --data" lists "user add" before its options.
        commands = [re.sub(r" -.*", "", c) for c in commands]
        for cmd in commands:
            self.assertIn("\n.SS %s\n" % cmd, source, cmd)
            self.assert_options_documented(
                source, self.help_of("saltmaild", *cmd.split()), cmd)

    def test_launchd_agent(self):
        with open(os.path.join(ARGS.source, "packaging",
                               "org.saltbridge.serve.plist"), "rb") as f:
            agent = plistlib.load(f)
        self.assertEqual(agent["Label"], "org.saltbridge.serve")
        self.assertEqual(os.path.basename(agent["ProgramArguments"][0]),
                         "saltbridge")
        self.assertEqual(agent["ProgramArguments"][1:], ["serve"])
        self.assertIs(agent["RunAtLoad"], True)
        self.assertEqual(agent["KeepAlive"], {"SuccessfulExit": False})


class Result(unittest.TextTestResult):
    passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main(argv):
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--cpack", required=True)
    p.add_argument("--build", required=True)
    p.add_argument("--source", required=True)
    ARGS, rest = p.parse_known_args(argv[1:])
    for tool in ("dpkg-deb", "dpkg"):
        if shutil.which(tool) is None:
            print("%s is missing: skipped" % tool)
            return 77
    prog = unittest.main(module=sys.modules[__name__], argv=[argv[0]] + rest,
                         exit=False, testRunner=unittest.TextTestRunner(
                             resultclass=Result))
    res = prog.result
    failed = len(res.failures) + len(res.errors)
    print("%d passed, %d failed" % (res.passed, failed))
    return 0 if failed == 0 and res.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

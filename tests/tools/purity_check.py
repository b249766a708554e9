#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The core library does no I/O (label "purity"):
#
#   purity_check.py NM LIBRARY ALLOW_LIST
#
# lists the undefined symbols of every object file of LIBRARY (libfwcore.a) with NM and fails
# when one is a function that reads or writes files, the environment, the clock or the log
# (open, fopen, read, write, opendir, stat, getenv, time, clock_gettime, syslog, ...), naming
# the object file that uses it. ALLOW_LIST names what is still allowed, one "object symbol" a
# line: what has not moved to a shell library yet. The list may only shrink: an entry no object
# needs any more is an error too, so that it is removed with the code that needed it. Python 3
# standard library only.
import re
import subprocess
import sys

# By name after the fortified and large-file spellings are taken off (__fprintf_chk,
# __open_2, fopen64, __xstat): see plain_name.
FORBIDDEN = {
    # files and directories
    "open", "openat", "creat", "fopen", "fdopen", "freopen", "close", "fclose", "read", "pread",
    "readv", "write", "pwrite", "writev", "fread", "fwrite", "fgets", "fgetc", "getc", "getline",
    "getdelim", "fputs", "fputc", "putc", "puts", "putchar", "printf", "fprintf", "vprintf",
    "vfprintf", "dprintf", "perror", "fflush", "fsync", "fdatasync", "ftruncate", "truncate",
    "lseek", "opendir", "fdopendir", "readdir", "closedir", "scandir", "stat", "fstat", "lstat",
    "fstatat", "xstat", "fxstat", "lxstat", "statx", "access", "faccessat", "unlink", "unlinkat",
    "rename", "renameat", "mkdir", "mkdirat", "rmdir", "remove", "realpath", "readlink",
    "stdin", "stdout", "stderr",
    # the environment
    "getenv", "secure_getenv", "setenv", "unsetenv", "putenv",
    # the clock
    "time", "clock_gettime", "gettimeofday", "clock", "ftime", "localtime", "localtime_r",
    "mktime", "tzset",
    # the log
    "syslog", "vsyslog", "openlog", "closelog",
    # sockets, processes, sleeping
    "socket", "connect", "bind", "listen", "accept", "send", "sendto", "recv", "recvfrom",
    "select", "poll", "epoll_wait", "sleep", "usleep", "nanosleep", "system", "popen", "fork",
}


# The compiler turns one printf into another (fprintf with a constant text becomes fwrite or
# fputs, and a sanitizer build may keep it): these count as one name, "stdio_out".
STDIO_OUT = {"fwrite", "fputs", "fputc", "putc", "puts", "putchar", "printf", "fprintf",
             "vprintf", "vfprintf", "dprintf"}
FORBIDDEN.add("stdio_out")


def plain_name(sym):
    sym = sym.split("@")[0]
    m = re.fullmatch(r"__(\w+?)(_chk|_2)", sym)
    if m:
        sym = m.group(1)
    sym = re.sub(r"^__", "", sym)
    sym = re.sub(r"64$", "", sym)
    return "stdio_out" if sym in STDIO_OUT else sym


def main(nm, library, allow_path):
    allowed = set()
    with open(allow_path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#")[0].split()
            if line:
                allowed.add((line[0], line[1]))
    out = subprocess.run([nm, "-A", "-u", library], capture_output=True, text=True, check=True)
    used = set()
    for line in out.stdout.splitlines():
        # "libfwcore.a:config_files.c.o:                 U getenv"
        m = re.match(r"^[^:]+:([^:]+):\s+U\s+(\S+)$", line)
        if m and plain_name(m.group(2)) in FORBIDDEN:
            used.add((m.group(1), plain_name(m.group(2))))
    objects = {m.group(1) for m in re.finditer(r"^[^:]+:([^:]+):", out.stdout, re.M)}
    failures = []
    if len(objects) < 10:
        failures.append("%s: only %d object files: is it the core library?" % (library,
                                                                               len(objects)))
    for obj, sym in sorted(used - allowed):
        failures.append("%s: %s uses %s: I/O belongs in a shell library" % (library, obj, sym))
    for obj, sym in sorted(allowed - used):
        failures.append("%s: %s %s is allowed but no longer used: remove it from the list"
                        % (allow_path.split("/")[-1], obj, sym))
    for f in failures:
        print(f)
    print("%d object files, %d allowed uses left" % (len(objects), len(allowed & used)))
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print("usage: purity_check.py NM LIBRARY ALLOW_LIST", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))

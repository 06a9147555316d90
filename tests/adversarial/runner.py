"""Run ``fupin`` commands in isolated child processes, fast.

A server process (``python runner.py --serve``) imports fupin and loads the shipped packs once,
then forks one child per command: the child gets an address-space limit (RLIMIT_AS), its own
stdout/stderr files and reports its peak RSS; the server reports the exit code, or the signal
that ended the child (abort, kill, out of memory), or a timeout.  The server never runs a
command itself (no library threads exist when it forks).

    with Runner(memory_limit=3 << 30) as r:
        res = r.run(["validate", "x.xlsx"], cwd=tmp)
        res.code, res.signal, res.stdout, res.stderr, res.peak_rss_mb, res.seconds
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self


@dataclasses.dataclass
class Result:
    args: list[str]
    code: int | None  # exit code; None when a signal ended the child or it timed out
    signal: int | None
    stdout: str
    stderr: str
    peak_rss_mb: float
    seconds: float
    timed_out: bool = False


def _vm(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _child(req: dict) -> None:
    import resource

    os.environ.update(req.get("env") or {})
    if req["memory_limit"]:
        limit = _vm("VmSize") + req["memory_limit"]  # the server's own mappings + the allowance
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.chdir(req["cwd"])
    for fd, path in ((1, req["out"]), (2, req["err"])):
        f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(f, fd)
        os.close(f)
    code = 0
    try:
        from fupin_cli.cli.app import app

        app(req["args"], prog_name="fupin")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException as e:  # never reached through the CLI; counted as a crash if it happens
        os.write(2, f"UNCAUGHT {type(e).__name__}: {e}\n".encode())
        code = 99
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        with open(req["result"], "w") as f:
            json.dump({"peak": _vm("VmHWM")}, f)
    os._exit(code)


def serve() -> None:
    import signal

    import fupin_cli.cli.app  # noqa: F401  (every command registered)
    from fupin_cli.engine import load_pack

    for name in ("national-2014", "monitoring-2021"):
        load_pack(name)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                _child(req)
            finally:
                os._exit(98)
        deadline = time.monotonic() + req["timeout"]
        status, timed_out = None, False
        while status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                timed_out = True
            else:
                time.sleep(0.005)
        reply = {"code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                 "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None, "timed_out": timed_out}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


class Runner:
    def __init__(self, memory_limit: int = 3 << 30, timeout: float = 120.0):
        self.memory_limit = memory_limit
        self.timeout = timeout
        self._tmp = tempfile.TemporaryDirectory(prefix="fupin-runner-")
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, env=env)
        assert self._proc.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc) -> None:
        if self._proc is not None:
            self._proc.stdin.close()
            self._proc.wait(timeout=30)
        self._tmp.cleanup()

    def run(self, args: list[str], cwd: str | os.PathLike, env: dict | None = None) -> Result:
        d = Path(self._tmp.name)
        out, err, res = d / "out", d / "err", d / "res.json"
        res.unlink(missing_ok=True)
        req = {"args": [str(a) for a in args], "cwd": str(cwd), "out": str(out), "err": str(err), "result": str(res),
               "memory_limit": self.memory_limit, "timeout": self.timeout, "env": env or {}}
        t0 = time.perf_counter()
        self._proc.stdin.write(json.dumps(req) + "\n")
        self._proc.stdin.flush()
        reply = json.loads(self._proc.stdout.readline())
        seconds = time.perf_counter() - t0
        peak = json.loads(res.read_text())["peak"] / 2**20 if res.exists() else 0.0
        return Result(list(args), reply["code"], reply["signal"],
                      out.read_text(encoding="utf-8", errors="replace") if out.exists() else "",
                      err.read_text(encoding="utf-8", errors="replace") if err.exists() else "",
                      peak, seconds, reply["timed_out"])


if __name__ == "__main__" and "--serve" in sys.argv:
    serve()

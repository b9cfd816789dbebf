"""HTTP load from a compiled tool (Debian's ``wrk``), not from Python threads in the runner.

Each measurement runs ``wrk`` for a fixed time with a Lua script that builds every request:

- signed carrier webhooks: the bodies are signed here beforehand (HMAC is not in wrk's Lua)
  and written into the script as a table, each sent once in order (one wrk thread, several
  connections); signatures stay valid for the sandbox's five-minute tolerance;
- JSON API calls: a bearer token and a random body per request (one or many lines).

``wrk`` runs pinned to the last CPU with ``taskset`` when there is more than one, and the CPU
time it used (its own rusage, from ``wait4``) comes back with its figures, so a table can say
how much of the machine the load tool itself took.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.harness import signed_headers

_RESULT = re.compile(r"^RESULT (\d+) (\d+) (\d+) (\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class Load:
    """What one wrk run did: completed requests, seconds, bad answers, wrk's own CPU."""

    requests: int
    seconds: float
    bad: int  # non-2xx answers and socket errors
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_share(self) -> float:
        """wrk's CPU time over the wall time: 1.0 is one whole CPU."""
        return self.cpu_seconds / self.seconds


def tool() -> str:
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    return found


def _lua_string(text: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def signed_script(folder: Path, name: str, path: str, bodies: list[bytes]) -> Path:
    """A script posting ``bodies`` to ``path`` in order, each signed now (then wrapping)."""
    rows = []
    for body in bodies:
        headers = signed_headers(body)
        rows.append(
            "{" + _lua_string(body.decode()) + ","
            + _lua_string(json.dumps(headers)) + "}"
        )  # fmt: skip
    script = folder / f"{name}.lua"
    script.write_text(
        'local cjson_headers = {}\nlocal items = {\n' + ",\n".join(rows) + "\n}\n"
        + "local parsed = {}\n"
        + "for k, item in ipairs(items) do\n"
        + "  local h = {}\n"
        + '  for key, value in string.gmatch(item[2], \'"([^"]+)": "([^"]*)"\') do h[key] = value end\n'  # noqa: E501
        + "  parsed[k] = {item[1], h}\n"
        + "end\n"
        + "local i = 0\n"
        + "request = function()\n"
        + "  i = i + 1\n"
        + "  local item = parsed[((i - 1) % #parsed) + 1]\n"
        + f'  return wrk.format("POST", "{path}", item[2], item[1])\n'
        + "end\n"
        + _DONE
    )  # fmt: skip
    return script


def json_script(
    folder: Path, name: str, path: str, token: str, skus: list[str], lines: int, reference: str
) -> Path:
    """A script posting reservations of random parts: ``lines`` 0 sends one reservation
    (``{"sku", "qty", "reference"}``), else an order of that many lines."""
    sku_table = "{" + ",".join(f'"{sku}"' for sku in skus) + "}"
    if lines:
        body = (
            '  local parts = {}\n'
            f"  for n = 1, {lines} do\n"
            '    parts[n] = string.format(\'{"sku": "%s", "qty": 1}\', skus[math.random(#skus)])\n'
            "  end\n"
            f'  local body = \'{{"reference": "{reference}", "lines": [\' .. table.concat(parts, ",") .. "]}}"\n'  # noqa: E501
        )  # fmt: skip
    else:
        body = (
            '  local body = string.format(\'{"sku": "%s", "qty": 1, "reference": "'
            f'{reference}"}}\', skus[math.random(#skus)])\n'
        )  # fmt: skip
    script = folder / f"{name}.lua"
    script.write_text(
        f"local skus = {sku_table}\n"
        "math.randomseed(os.time())\n"
        "local headers = {}\n"
        f'headers["Authorization"] = "Bearer {token}"\n'
        'headers["Content-Type"] = "application/json"\n'
        "request = function()\n" + body + f'  return wrk.format("POST", "{path}", headers, body)\n'
        "end\n" + _DONE
    )
    return script


def run(base: str, script: Path, seconds: float, connections: int) -> Load:
    """``wrk`` against ``base`` for ``seconds`` with ``connections`` (one thread), pinned to the
    last CPU where ``taskset`` exists; its figures and its own CPU time."""
    command = [
        tool(), "-t", "1", "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
        "--timeout", "60s", "-s", str(script), base,
    ]  # fmt: skip
    cpus = os.cpu_count() or 1
    if cpus > 1 and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpus - 1), *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: S603
    assert process.stdout is not None
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    found = _RESULT.search(output)
    if process.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output[-2000:]}")
    requests, micros, bad_status, socket_errors = (int(value) for value in found.groups())
    return Load(
        requests=requests,
        seconds=micros / 1e6,
        bad=bad_status + socket_errors,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
    )


def check(load: Load, what: str) -> None:
    if load.bad:
        raise RuntimeError(f"{what}: {load.bad} of {load.requests} requests failed (wrk)")
    if not load.requests:
        raise RuntimeError(f"{what}: wrk completed no request")

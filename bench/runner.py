"""What every measurement shares: figures and their goals, scratch databases,
seeding, server processes, the wrk load generator, profiles, the table and the
JSON file. ``bench/run.py`` runs the measurements (``measure_*.py``)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from seatledger.adapters.db.engine import make_engine, migrate
from seatledger.services import access, accounts, users
from seatledger.services.unit_of_work import UnitOfWork

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ACTOR = "operator:bench"
MODULE = "console"
WRK_INSTALL = "install it with `sudo apt-get install wrk` (Debian, Ubuntu) or `brew install wrk`"


def log(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Goal:
    """``on`` the figure's ``ratio`` or its ``value``: ``op`` (">=" or "<=") ``threshold``."""

    op: str
    threshold: float
    on: str = "ratio"

    def met(self, figure: Figure) -> bool | None:
        measured = figure.ratio if self.on == "ratio" else figure.value
        if measured is None:
            return None
        return measured >= self.threshold if self.op == ">=" else measured <= self.threshold

    def __str__(self) -> str:
        sign = "≥" if self.op == ">=" else "≤"
        threshold = f"{self.threshold:,.0f}" if self.threshold >= 1000 else f"{self.threshold:g}"
        return f"{'value' if self.on == 'value' else 'ratio'} {sign} {threshold}"


@dataclass
class Figure:
    """One figure beside its baseline, both measured in this run."""

    id: str
    name: str
    value: float
    unit: str
    baseline_name: str
    baseline_value: float
    goal: Goal
    details: dict[str, Any] = field(default_factory=dict)
    load_average: list[float] = field(default_factory=load_average)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline_value if self.baseline_value else None

    @property
    def met(self) -> bool | None:
        return self.goal.met(self)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "baseline": {"name": self.baseline_name, "value": self.baseline_value},
            "ratio": self.ratio,
            "goal": {**asdict(self.goal), "text": str(self.goal)},
            "met": self.met,
            "load_average": self.load_average,
            "details": self.details,
        }


@dataclass
class Skipped:
    measurement: str
    scope: str
    reason: str


# --------------------------------------------------------------------------- the run


@dataclass
class Run:
    """The options and what the measurements found."""

    full: bool
    backends: list[str]
    postgres_url: str
    profile: bool
    tmp: Path
    stamp: str
    figures: list[Figure] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)  # title -> text
    notes: list[str] = field(default_factory=list)

    def pick(self, default: Any, full: Any) -> Any:
        return full if self.full else default

    @property
    def profile_dir(self) -> Path:
        path = RESULTS_DIR / f"{self.stamp}-profiles"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def database(self, measurement: str, name: str) -> Any:
        """A scratch database of backend ``name`` (dropped afterwards)."""
        if name == "sqlite":
            return sqlite_backend(self.tmp / measurement)
        return postgres_backend(self.postgres_url, measurement)


# --------------------------------------------------------------------------- databases


@dataclass
class Backend:
    name: str
    url: str  # SQLAlchemy URL
    raw_factory: Callable[[], Any]  # a new DB-API connection, as make_engine sets it up


@contextlib.contextmanager
def sqlite_backend(directory: Path) -> Iterator[Backend]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"bench-{secrets.token_hex(4)}.db"
    url = f"sqlite:///{path}"
    migrate(url)

    def connect() -> sqlite3.Connection:
        # The settings of make_engine: autocommit driver with explicit BEGIN, WAL,
        # synchronous=FULL, a long busy timeout, foreign keys on.
        con = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("PRAGMA busy_timeout=60000")
        con.execute("PRAGMA foreign_keys=ON")
        return con

    yield Backend("sqlite", url, connect)


@contextlib.contextmanager
def postgres_backend(admin_url: str, label: str) -> Iterator[Backend]:
    """A scratch database ``seatledger_bench_<label>_<pid>``, dropped at the end."""
    import psycopg

    base = make_url(admin_url)
    name = f"seatledger_bench_{label.replace('-', '_')}_{os.getpid()}"

    def libpq(u: Any) -> str:
        parts = {
            "host": u.host or "127.0.0.1",
            "port": u.port or 5432,
            "user": u.username or "postgres",
            "dbname": u.database,
            "password": u.password,
        }
        return " ".join(f"{k}={v}" for k, v in parts.items() if v)

    admin = psycopg.connect(libpq(base), autocommit=True, connect_timeout=5)
    try:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        target = base.set(database=name, drivername="postgresql+psycopg")
        url = target.render_as_string(hide_password=False)
        migrate(url)
        dsn = libpq(target)
        yield Backend("postgres", url, lambda: psycopg.connect(dsn, autocommit=False))
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def seed_account(
    engine: Engine, *, label: str, n_users: int, active: bool, capacity: int = 100_000
) -> tuple[str, str, list[str]]:
    """One account, one ``block`` pool of ample capacity, ``n_users`` users,
    through the services. Returns (account id, pool id, user ids)."""

    def uow() -> UnitOfWork:
        return UnitOfWork(engine)

    now = datetime.now(UTC)
    account = accounts.create_account(uow(), name=f"Bench {label}", currency="EUR", at=now)
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(now.year, 1, 1),
        billing_interval="month",
        pools=[{"module": MODULE, "capacity": capacity, "policy": "block", "unit_price": "10.00"}],
        at=now,
        actor=ACTOR,
    )
    ids = [
        users.create_user(
            uow(),
            account_id=account.id,
            email=f"{label}-{i}@bench.example",
            first_name="Bench",
            last_name=f"User {chr(65 + i % 26)}",
            at=now,
            actor=ACTOR,
            active=active,
        ).user.id
        for i in range(n_users)
    ]
    pool = next(p for p in access.list_pools(uow(), account_id=account.id) if p.module == MODULE)
    return account.id, pool.id, ids


def seeded(url: str, **kwargs: Any) -> tuple[str, str, list[str]]:
    engine = make_engine(url)
    try:
        return seed_account(engine, **kwargs)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (Linux /proc), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class Server:
    port: int
    pid: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextlib.contextmanager
def server_process(command: list[str], env: dict[str, str], log_path: Path) -> Iterator[Server]:
    """A server process started with ``--port``; up once /v1/health answers."""
    port = free_port()
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"server exited ({proc.returncode}):\n{log_path.read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"server did not come up:\n{log_path.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.2)
        yield Server(port, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def seatledger_server(url: str, key: str, logdir: Path, name: str) -> Any:
    """``seatledger serve``, one process, as users run it (uvicorn picks uvloop and
    httptools when installed); the billing scheduler idle during the run."""
    env = dict(
        os.environ,
        SEATLEDGER_DATABASE_URL=url,
        SEATLEDGER_OPERATOR_KEY=key,
        SEATLEDGER_BILLING_INTERVAL="86400",
    )
    command = [sys.executable, "-m", "seatledger.entrypoints.cli", "serve", "--host", "127.0.0.1"]
    return server_process(command, env, logdir / f"server-{name}.log")


def trivial_server(logdir: Path, name: str) -> Any:
    """bench/trivial_app.py: a trivial ``async def`` FastAPI endpoint, served the same way."""
    command = [sys.executable, str(BENCH_DIR / "trivial_app.py")]
    return server_process(command, dict(os.environ), logdir / f"trivial-{name}.log")


def server_stack() -> dict[str, Any]:
    """What uvicorn serves with in this environment (the servers share it)."""
    import importlib.metadata as md
    import importlib.util as iu

    def version(name: str) -> str | None:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None

    return {
        "uvicorn": version("uvicorn"),
        "fastapi": version("fastapi"),
        "loop": "uvloop" if iu.find_spec("uvloop") else "asyncio",
        "http": "httptools" if iu.find_spec("httptools") else "h11",
    }


# --------------------------------------------------------------------------- wrk

_WRK_DONE = r"""
done = function(summary, latency, requests)
  io.write(string.format(
    "WRK_RESULT {\"requests\": %d, \"duration_us\": %d, \"connect\": %d, \"read\": %d, " ..
    "\"write\": %d, \"status\": %d, \"timeout\": %d, \"p50_us\": %d, \"p99_us\": %d, " ..
    "\"mean_us\": %.1f, \"max_us\": %d}\n",
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
"""


def wrk_path() -> str | None:
    return shutil.which("wrk")


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    server_cpu: float | None  # share of one core

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def wrk_script(path: Path, lua: str) -> Path:
    path.write_text(textwrap.dedent(lua) + _WRK_DONE)
    return path


def run_wrk(
    url: str,
    script: Path,
    *,
    connections: int,
    threads: int,
    seconds: float,
    server_pid: int | None = None,
) -> WrkResult:
    """``wrk`` (another process, C): ``connections`` keep-alive connections over
    ``threads`` threads for ``seconds``; errors: socket errors and non-2xx answers."""
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError(f"wrk not found: {WRK_INSTALL}")
    before = cpu_seconds(server_pid) if server_pid else None
    started = time.perf_counter()
    done = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - started
    after = cpu_seconds(server_pid) if server_pid else None
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result:\n{done.stdout}\n{done.stderr}")
    found = json.loads(line.split(" ", 1)[1])
    errors = {k: found[k] for k in ("connect", "read", "write", "status", "timeout") if found[k]}
    cpu = (after - before) / elapsed if before is not None and after is not None else None
    return WrkResult(
        found["requests"],
        found["duration_us"] / 1e6,
        found["p50_us"] / 1000,
        found["p99_us"] / 1000,
        errors,
        cpu,
    )


def combined(results: list[WrkResult]) -> dict[str, Any]:
    """Rounds of one side: the rate over all of them, the median p99."""
    requests = sum(r.requests for r in results)
    seconds = sum(r.seconds for r in results)
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r.errors)
    cpus = [r.server_cpu for r in results if r.server_cpu is not None]
    return {
        "rate": requests / seconds if seconds else 0.0,
        "p99_ms": statistics.median(r.p99_ms for r in results),
        "p50_ms": statistics.median(r.p50_ms for r in results),
        "requests": requests,
        "seconds": round(seconds, 2),
        "errors": dict(errors),
        "server_cpu": round(statistics.fmean(cpus), 2) if cpus else None,
        "rounds": [round(r.rate, 1) for r in results],
    }


# --------------------------------------------------------------------------- profiles


@contextlib.contextmanager
def py_spy(run: Run, pid: int, title: str, seconds: float) -> Iterator[None]:
    """Samples process ``pid`` with py-spy (nonblocking) while the block runs;
    keeps the raw stacks and a summary of the server's event-loop thread."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        run.notes.append(f"{title}: no profile (pip install py-spy)")
        yield
        return
    raw = run.profile_dir / f"{title.replace(' ', '-').replace('/', '-')}.txt"
    proc = subprocess.Popen(
        [
            spy,
            "record",
            "--nonblocking",
            "-p",
            str(pid),
            "-d",
            str(max(1, round(seconds))),
            "-r",
            "250",
            "-f",
            "raw",
            "-o",
            str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield
    finally:
        _, err = proc.communicate(timeout=seconds + 60)
    if not raw.exists():
        run.notes.append(f"{title}: py-spy failed: {err.decode()[-300:]}")
        return
    run.profiles[title] = summarize_stacks(raw) + f"\n  (raw stacks: {raw})"


THREADS = (
    ("the event loop thread", "uvicorn/server.py"),
    ("the worker threads (sync routes and thread hops)", "WorkerThread.run (anyio"),
)
IDLE = ("Condition.wait", "Event.wait", "Queue.get", "Runner.run (asyncio")


def summarize_stacks(raw: Path, top: int = 16) -> str:
    """Per kind of thread (the event loop; anyio's workers): its busy samples by
    own time and the project's and frameworks' frames by inclusive time; idle
    samples (epoll, waiting for work) counted apart."""
    stacks = []
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    lines: list[str] = []
    for title, marker in THREADS:
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        busy = idle = 0
        for frames, n in stacks:
            if not any(marker in frame for frame in frames):
                continue
            if frames[-1].startswith(IDLE):
                idle += n
                continue
            busy += n
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
        if not busy:
            continue
        lines.append(f"  {title}: {busy} busy samples ({idle} idle); by own time:")
        lines += [f"    {n / busy:6.1%}  {frame[:110]}" for frame, n in own.most_common(top)]
        lines.append("   by inclusive time (seatledger, starlette, fastapi, uvicorn frames):")
        shown = [
            (frame, n)
            for frame, n in inclusive.most_common()
            if any(k in frame for k in ("seatledger/", "starlette/", "fastapi/", "uvicorn/pro"))
        ]
        lines += [f"    {n / busy:6.1%}  {frame[:110]}" for frame, n in shown[:top]]
    return "\n".join(lines) or "  no busy samples"


def pyinstrument_profile(run: Run, title: str, work: Callable[[], None]) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        run.notes.append(f"{title}: no profile (pip install pyinstrument)")
        return
    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        work()
    finally:
        profiler.stop()
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    path = run.profile_dir / f"{title.replace(' ', '-').replace('/', '-')}.txt"
    path.write_text(text)
    lines = [line for line in text.splitlines() if line.strip()]
    run.profiles[title] = "\n".join("  " + x for x in lines[:60]) + f"\n  (full profile: {path})"


# --------------------------------------------------------------------------- output


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.2f} ms"
    number = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{number} {unit}".strip()


def print_table(run: Run, meta: dict[str, Any]) -> None:
    print()
    print(
        f"seatledger bench, {meta['started']} ({'full' if run.full else 'default'} run), "
        f"commit {meta['commit']}, {meta['cpus']} CPUs, python {meta['python']}, "
        f"{meta['server']['loop']}/{meta['server']['http']}"
    )
    print(
        f"load average (1/5/15 min): {' '.join(map(str, meta['load_average_start']))} at the "
        f"start, {' '.join(map(str, meta['load_average_end']))} at the end"
    )
    rows = [
        (
            f.name,
            fmt(f.value, f.unit),
            f"{f.baseline_name}: {fmt(f.baseline_value, f.unit)}",
            f"{f.ratio:.2f}" if f.ratio is not None else "-",
            str(f.goal),
            {True: "met", False: "NOT MET", None: "-"}[f.met],
            f"{f.load_average[0]:.2f}",
        )
        for f in run.figures
    ]
    titles = ("figure", "value", "baseline (same run)", "ratio", "goal", "", "load")
    widths = [max(len(r[i]) for r in [titles, *rows]) for i in range(len(titles))]
    right = (False, True, False, True, False, False, True)

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        ).rstrip()

    print(line(titles))
    print("-" * len(line(titles)))
    for row in rows:
        print(line(row))
    for s in run.skipped:
        print(f"  skipped: {s.measurement} on {s.scope}: {s.reason}")
    for note in run.notes:
        print(f"  note: {note}")
    unmet = [f for f in run.figures if f.met is False]
    print(
        f"{len(run.figures)} figures, {len(run.figures) - len(unmet)} goals met, "
        f"{len(unmet)} not met; took {meta['seconds']:.0f} s"
    )
    for title, text in run.profiles.items():
        print(f"\nprofile: {title}\n{text}")


def write_json(run: Run, meta: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    document = {
        **meta,
        "figures": [f.as_json() for f in run.figures],
        "skipped": [asdict(s) for s in run.skipped],
        "notes": run.notes,
        "profiles": run.profiles,
    }
    path = RESULTS_DIR / f"{run.stamp}.json"
    text = json.dumps(document, indent=2, default=str)
    path.write_text(text)
    (RESULTS_DIR / "latest.json").write_text(text)
    return path


def new_run(*, full: bool, backends: list[str], postgres_url: str, profile: bool) -> Run:
    return Run(
        full=full,
        backends=backends,
        postgres_url=postgres_url,
        profile=profile,
        tmp=Path(tempfile.mkdtemp(prefix="seatledger-bench-")),
        stamp=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
    )

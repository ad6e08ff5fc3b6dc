"""The benchmark harness: a scratch database, data generators share it, timings are reported as ratios
against a baseline measured in the same run (never as absolute pass/fail thresholds).

Run a benchmark as a module from the repository root, e.g. `python -m bench.bench_sla`; `make bench` runs all.
They need PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/itsm_bench) names a
scratch database that is dropped and recreated. Results are printed and written to bench/results/<name>.json.
"""

import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/itsm_bench"


def setup(*, fresh: bool = True) -> None:
    """Point Django at the scratch database (recreated when `fresh`), migrate it, and set Django up."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itsm.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
    sys.path.insert(0, str(ROOT))
    if fresh and url.startswith("postgres"):
        import psycopg2

        base, _, name = url.rpartition("/")
        conn = psycopg2.connect(f"{base}/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@dataclass
class Measurement:
    label: str
    seconds: list[float] = field(default_factory=list)
    items: int = 0

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        return self.items / self.median if self.items and self.median else 0.0


def measure(label: str, fn: Callable[[], object], *, repeat: int = 3, items: int = 0) -> Measurement:
    m = Measurement(label, items=items)
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        m.seconds.append(time.perf_counter() - start)
    return m


@contextmanager
def timer() -> Iterator[list[float]]:
    box: list[float] = []
    start = time.perf_counter()
    yield box
    box.append(time.perf_counter() - start)


def report(name: str, measurements: list[Measurement], ratios: dict[str, float], notes: dict | None = None) -> dict:
    """Print a table and write bench/results/<name>.json."""
    print(f"\n== {name}")
    for m in measurements:
        rate = f"  {m.rate:,.1f}/s" if m.items else ""
        print(f"  {m.label:<60} median {m.median:9.4f}s  best {m.best:9.4f}s{rate}")
    for label, value in ratios.items():
        print(f"  ratio {label:<54} {value:9.3f}")
    for label, value in (notes or {}).items():
        print(f"  {label}: {value}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {
        "name": name,
        "measurements": [asdict(m) | {"median": m.median, "rate": m.rate} for m in measurements],
        "ratios": ratios,
        "notes": notes or {},
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))
    return data

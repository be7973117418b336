"""Run the benchmarks (`make bench`): each one through its own command line, in its own process,
on its own scratch PostgreSQL database (created and dropped by the benchmark itself).

    .venv/bin/python -m bench.run                    # all of them in turn, at their default sizes
    .venv/bin/python -m bench.run pages              # one of them
    .venv/bin/python -m bench.run pages 2000 5       # ... with the arguments of `python -m bench.pages`
    make bench ARGS="metrics 2000 5"
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name -> (its positional arguments, what it measures); the order is the order of a full run
BENCHMARKS = {
    "generate": (["opportunities"], "time to fill a database (accounts, deals, events, projects)"),
    "pages": (["opportunities", "repeats"], "board, accounts and deal pages: p50/p95 ms and SQL statements"),
    "metrics": (["opportunities", "repeats"], "dashboard, stall report and metrics API: p50/p95 ms and SQL statements"),
    "ingest": (["import_messages", "webhook_messages"], "inbound messages/s: Telegram import and Chatwoot webhooks"),
    "duplicates": (["accounts", "repeats"], "proposed duplicate pairs (query and REST): p50/p95 ms and SQL statements"),
}


def run_one(name: str, args: list[int]) -> int:
    """`python -m bench.<name> <args>`; its output goes straight to ours. Returns its exit code."""
    command = [sys.executable, "-m", f"bench.{name}", *map(str, args)]
    print(f"== {name}: {' '.join(['python', *command[1:]])}", flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.wait()  # the benchmark got the same Ctrl-C: let it drop its scratch database
        raise
    print(f"== {name}: {'done' if code == 0 else f'FAILED (exit {code})'} in {time.perf_counter() - started:.1f} s\n",
          flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run one benchmark, or all of them in turn at their default sizes.",
        epilog="benchmarks (and the arguments each one takes):\n" + "\n".join(
            f"  {name:9} [{'] ['.join(params)}]\n            {about}" for name, (params, about) in BENCHMARKS.items()))
    parser.add_argument("benchmark", nargs="?", choices=list(BENCHMARKS), metavar="BENCHMARK",
                        help="one of: " + ", ".join(BENCHMARKS) + " (default: all)")
    parser.add_argument("args", nargs="*", type=int, metavar="N",
                        help="passed to that benchmark's own command line (python -m bench.BENCHMARK N ...)")
    options = parser.parse_args(argv)
    if options.args and not options.benchmark:
        parser.error("arguments need a benchmark name")
    if options.benchmark and len(options.args) > len(BENCHMARKS[options.benchmark][0]):
        parser.error(f"{options.benchmark} takes at most: {' '.join(BENCHMARKS[options.benchmark][0])}")

    names = [options.benchmark] if options.benchmark else list(BENCHMARKS)
    failed = [name for name in names if run_one(name, options.args) != 0]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line: `python -m benchmarks --size tiny|small|scaling|large --repeat N`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from benchmarks.run import BENCHMARKS, SIZES, command_line, run_benchmarks, write_outputs


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks of one size, write the results and print the Markdown report."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure ingest_jobs against the floor of its own database work.",
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="small", help="workload size")
    parser.add_argument(
        "--repeat", type=int, default=3, help="repetitions of each measurement (default 3)"
    )
    parser.add_argument(
        "--diagnostic-repeat",
        type=int,
        default=1,
        help="repetitions of the diagnostic executor configurations of the concurrent run "
        "(default 1)",
    )
    parser.add_argument(
        "--postgres",
        metavar="DSN",
        help="libpq connection string of a maintenance database on the local server "
        "(default: JOBS_PIPELINE_BENCH_POSTGRES, else host=127.0.0.1 user=postgres dbname=test)",
    )
    parser.add_argument(
        "--skip", action="append", choices=BENCHMARKS, default=[], help="leave out a benchmark"
    )
    parser.add_argument(
        "--output-dir", type=Path, help="folder for the results (default benchmarks/results/SIZE)"
    )
    parser.add_argument(
        "--plot", type=Path, help="PNG of the scaling plot (default OUTPUT_DIR/scaling.png)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.diagnostic_repeat < 1:
        parser.error("--repeat and --diagnostic-repeat must be at least 1")

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    output_dir = args.output_dir or Path(__file__).parent / "results" / args.size
    outcome = run_benchmarks(
        args.size,
        args.repeat,
        admin_dsn=args.postgres,
        skip=tuple(args.skip),
        diagnostic_repeat=args.diagnostic_repeat,
        measurements_path=output_dir / "measurements.csv",
    )
    plot = args.plot or output_dir / "scaling.png"
    markdown = write_outputs(outcome, command_line(), output_dir, plot)
    sys.stdout.write(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

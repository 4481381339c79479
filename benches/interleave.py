#!/usr/bin/env python3
"""Times commands run in turn, one run of each per round, so that a machine whose speed drifts
(a shared host) slows each command alike; hyperfine runs all of one command's runs first.

    python3 benches/interleave.py ROUNDS 'name=command args' 'name=command args' ...

Prints each command's median, mean and 10th/90th percentiles of wall time, in milliseconds,
after 5 warm-up rounds. Each figure carries the cost of Python's subprocess.run (about 0.5 ms).
"""
import os
import shlex
import statistics
import subprocess
import sys
import time


def main() -> None:
    rounds = int(sys.argv[1])
    commands = [argument.split("=", 1) for argument in sys.argv[2:]]
    times: dict[str, list[float]] = {name: [] for name, _ in commands}
    with open(os.devnull, "w") as devnull:
        for round_ in range(rounds + 5):
            for name, command in commands:
                argv = shlex.split(command)
                start = time.perf_counter()
                subprocess.run(argv, stdout=devnull, stderr=devnull, check=False)
                elapsed = (time.perf_counter() - start) * 1e3
                if round_ >= 5:
                    times[name].append(elapsed)
    for name, _ in commands:
        ordered = sorted(times[name])
        print(
            f"{name:12s} median {statistics.median(ordered):6.2f} mean {statistics.mean(ordered):6.2f}"
            f" p10 {ordered[len(ordered) // 10]:6.2f} p90 {ordered[9 * len(ordered) // 10]:6.2f} ms"
        )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Folds `perf script` stacks (as `inferno-collapse-perf --kernel` writes them) into the
stacks a reader wants in a flame graph of lambda-gate: the frames of rayon's and the standard
library's plumbing dropped (`map`, `next`, `call_mut`, join and bridge helpers), generic
arguments cut from names, and each stack ended at the system call or fault it made in the
kernel, so that a kernel's internals do not hide which call cost the time.

    cargo install inferno    # and Debian's linux-perf for perf
    perf record -F 1500 -g --call-graph dwarf,65528 -o sweep.data -- \\
      sh -c 'for i in 1 2 3 4 5; do lambda-gate sweep --root /tmp/org1k -q --format json -o /dev/null --no-cache; done'
    perf script -i sweep.data | inferno-collapse-perf --kernel | python3 benches/flamegraph.py > sweep.folded
    inferno-flamegraph --minwidth 0.5 --width 1600 < sweep.folded > sweep.svg
    python3 benches/flamegraph.py --share sweep.folded lambda_gate::walk::walk lambda_gate::rules::mypy

`--share FOLDED NAME...` prints, for each NAME, the share of samples with a frame containing
it (inclusive time), and the share that ended in the kernel, by system call.
"""
import collections
import re
import sys

# Frames that say how work was scheduled, not what the work was.
PLUMBING = set(
    "map next call_mut callback special_extend par_extend drive_unindexed from_par_iter fold "
    "for_each call call_once try_fold collect extend spec_extend with_producer bridge helper "
    "join_context execute run_inline in_worker run main_loop wait_until_cold wait_until scope "
    "spawn new thread_start start_thread clone3 __libc_start_main __libc_start_call_main main "
    "_start lang_start lang_start_internal map_fold then and_then unwrap_or_else get_or_init "
    "do_call catch_unwind halt_unwinding consume_iter filter_map find_map iter flatten "
    "into_iter from_iter zip par_iter map_ref maybe_grow grow with_recursion "
    "__rust_begin_short_backtrace".split()
)
PLUMBING_PREFIX = re.compile(
    r"^(rayon|rayon_core|core::ops|std::panic|std::panicking|std::sys::backtrace|std::thread|"
    r"std::rt|core::iter|<core::iter|<rayon|<alloc::vec::Vec<T> as alloc::vec::spec|"
    r"<std::thread|<alloc::boxed::Box<dyn core::ops|<core::panic|std::sys::thread|\{closure|"
    r"\{\{closure|<&|<F as|alloc::vec::in_place)"
)
SYSCALL_ENTRY = re.compile(r"^(__do_sys_|__x64_sys_|do_sys_|__se_sys_)")
MAX_DEPTH = 30


def clean(frame: str) -> str:
    """The frame's name without `(inlined)`, generic arguments and closure markers."""
    frame = re.sub(r" \(inlined\)$", "", frame)
    out, depth = [], 0
    for index, char in enumerate(frame):
        if char == "<" and index > 0:
            depth += 1
        elif char == ">" and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(char)
    name = re.sub(r"::\{\{closure\}\}|::\{closure#\d+\}|\{closure#\d+\}", "", "".join(out))
    return name.replace("::::", "::")


def fold(lines):
    counts = collections.Counter()
    for line in lines:
        stack, count = line.rstrip("\n").rsplit(" ", 1)
        kept = []
        for frame in stack.split(";")[1:]:
            if frame.endswith("_[k]"):
                name = frame[:-4]
                if name.startswith(("entry_SYSCALL", "do_syscall")):
                    continue
                if name in ("asm_exc_page_fault", "exc_page_fault"):
                    kept.append("kernel: page fault")
                else:
                    kept.append("kernel: " + SYSCALL_ENTRY.sub("", name))
                break
            name = clean(frame)
            if not name.strip() or name in PLUMBING or PLUMBING_PREFIX.match(name):
                continue
            if name.startswith("[unknown]") or (kept and kept[-1] == name):
                continue
            kept.append(name)
        if len(kept) > MAX_DEPTH:
            # The frames that say where the time went are the first (which part of the run)
            # and the last (which call it ended in); a deep parse's middle is left out.
            kept = kept[: MAX_DEPTH - 2] + ["..."] + kept[-1:]
        counts[";".join(["lambda-gate"] + kept)] += int(count)
    return counts


def share(path, names):
    total, inclusive, kernel = 0, collections.Counter(), collections.Counter()
    for line in open(path):
        stack, count = line.rstrip("\n").rsplit(" ", 1)
        count = int(count)
        total += count
        frames = stack.split(";")
        for name in names:
            if any(name in frame for frame in frames):
                inclusive[name] += count
        if frames[-1].startswith("kernel: "):
            kernel[frames[-1]] += count
    for name in names:
        print(f"{100 * inclusive[name] / total:5.1f} %  {name}")
    print(f"{100 * sum(kernel.values()) / total:5.1f} %  in the kernel, of which:")
    for name, count in kernel.most_common(8):
        print(f"{100 * count / total:5.1f} %    {name}")


def main() -> None:
    if sys.argv[1:2] == ["--share"]:
        share(sys.argv[2], sys.argv[3:])
        return
    for stack, count in fold(sys.stdin).items():
        print(stack, count)


if __name__ == "__main__":
    main()

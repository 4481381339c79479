"""mypy's own reading of a configuration: the oracle of tests/integration/mypy_differential.rs.

    python3 tests/mypy/oracle.py --module NAME ... DIR ...

For each DIR (run from there, as mypy would be) prints one JSON object per line: the config
file mypy uses, the watched options globally and for each module, and whether mypy complained
(on stderr, through its error callback, or by crashing). Uses mypy's parse_config_file with the
strict-flag callback main.process_options builds, then process_error_codes as main does.
"""

import argparse
import io
import json
import os
import sys

from mypy.config_parser import parse_config_file
from mypy.main import define_options
from mypy.options import Options

WATCHED = [
    "python_version", "strict_optional", "implicit_optional", "ignore_errors",
    "ignore_missing_imports", "follow_imports", "warn_no_return", "warn_unreachable",
    "allow_untyped_globals", "disallow_any_generics", "disallow_subclassing_any",
    "disallow_untyped_calls", "disallow_untyped_defs", "disallow_incomplete_defs",
    "check_untyped_defs", "disallow_untyped_decorators", "warn_redundant_casts",
    "warn_unused_ignores", "warn_return_any", "implicit_reexport", "strict_equality",
    "extra_checks", "enable_error_code", "disable_error_code",
]


def watched(options):
    out = {}
    for name in WATCHED:
        if name == "enable_error_code":
            out[name] = sorted(code.code for code in options.enabled_error_codes)
        elif name == "disable_error_code":
            out[name] = sorted(code.code for code in options.disabled_error_codes)
        elif name == "python_version":
            out[name] = "%d.%d" % options.python_version
        else:
            out[name] = getattr(options, name)
    return out


def read(directory, modules):
    os.chdir(directory)
    _, _, strict_assignments = define_options()
    options = Options()

    def set_strict_flags():
        for dest, value in strict_assignments:
            setattr(options, dest, value)

    stderr = io.StringIO()
    complaints = []
    try:
        parse_config_file(options, set_strict_flags, None, io.StringIO(), stderr)
        options.process_error_codes(error_callback=complaints.append)
        if options.python_version < (3,):
            complaints.append("Python 2 is not supported")
        result = {
            "config_file": options.config_file and os.path.relpath(options.config_file),
            "global": watched(options),
            "modules": {m: watched(options.clone_for_module(m)) for m in modules},
        }
    except Exception as error:  # mypy crashes on some inputs: that is a rejection too
        result = {"crash": f"{type(error).__name__}: {error}"}
    complaints.extend(line for line in stderr.getvalue().splitlines() if line)
    result["complaints"] = complaints
    result["default_python_version"] = "%d.%d" % Options().python_version
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", action="append", default=[])
    parser.add_argument("dirs", nargs="+")
    args = parser.parse_args()
    start = os.getcwd()
    for directory in args.dirs:
        print(json.dumps(read(os.path.join(start, directory), args.module)), flush=True)
        os.chdir(start)


if __name__ == "__main__":
    sys.exit(main())

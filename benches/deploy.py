#!/usr/bin/env python3
"""The deploy timings of BENCHMARKS.md, reproducible: `lambda-gate deploy` (at once, one smoke
event) against the same calls made by hand with boto3 (UpdateFunctionCode, wait, PublishVersion,
Invoke, UpdateAlias), side by side in one run, against the moto server and registry that
`tests/services.sh` starts (run `bash tests/run.sh` once, or source it).

    python3 benches/deploy.py [--runs 20]

Each run deploys the other of two images, so every deploy changes the function. Prints the
median and spread of the wall time, lambda-gate's own split into API calls and waits, and its
number of API calls.
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATE = os.path.join(ROOT, "target", "release", "lambda-gate")
REGISTRY = os.environ.get("LAMBDA_GATE_TEST_REGISTRY", "127.0.0.1:5000")
MOTO = os.environ.get("LAMBDA_GATE_TEST_MOTO", "http://127.0.0.1:5050")
BASE = os.environ.get("LAMBDA_GATE_TEST_BASE", f"{REGISTRY}/standin/lambda-python:3.12")

ENV = dict(
    os.environ,
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_REGION="us-east-1",
    AWS_ENDPOINT_URL_LAMBDA=MOTO,
    AWS_ENDPOINT_URL_CLOUDWATCH=MOTO,
    AWS_ENDPOINT_URL_SSM=MOTO,
    AWS_ENDPOINT_URL_STS=MOTO,
    DOCKER_CONFIG="/nonexistent",
)
KW = dict(
    endpoint_url=MOTO,
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)


def build(repository: str, value: str) -> str:
    """The example project built for amd64 and pushed; returns `repository@index-digest`."""
    with tempfile.TemporaryDirectory() as work:
        project = os.path.join(work, "example-project")
        # The project's Terraform names the module beside it: both are copied, as in the tests.
        # One repository, so the module is inside it (the gate's TF002).
        for part in ("example-project", "terraform"):
            subprocess.run(["cp", "-r", os.path.join(ROOT, part), work], check=True)
        subprocess.run(["git", "init", "-q", work], check=True)
        with open(os.path.join(project, "app", "bench.py"), "w") as f:
            f.write(f"VALUE = {value!r}\n")
        out = subprocess.run(
            [GATE, "build", project, "--push", repository, "--platform", "linux/amd64",
             "--build-arg", f"BASE_IMAGE={BASE}", "--tag", f"bench-{value}", "--no-smoke",
             "--format", "json", "-q"],
            env=ENV, capture_output=True, text=True,
        )
        if out.returncode != 0:
            raise SystemExit(f"build failed: {out.stderr}")
    built = json.loads(out.stdout)
    return built["platforms"][0]["image_uri"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    lam = boto3.client("lambda", **KW)
    iam = boto3.client("iam", **KW)
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(
        MOTO + "/moto-api/config", data=json.dumps({"lambda": {"use_docker": False}}).encode(),
        method="POST", headers={"Content-Type": "application/json"}))
    repository = f"{REGISTRY}/bench/deploy-{uuid.uuid4().hex[:8]}"
    images = [build(repository, "a"), build(repository, "b")]
    try:
        role = iam.create_role(RoleName="bench-deploy", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    except Exception:
        role = iam.get_role(RoleName="bench-deploy")["Role"]["Arn"]
    event = os.path.join(ROOT, "example-project", "events")
    event = os.path.join(event, sorted(os.listdir(event))[0])
    with open(event, "rb") as f:
        payload = f.read()

    def fresh(name: str) -> None:
        lam.create_function(FunctionName=name, Role=role, PackageType="Image",
                            Code={"ImageUri": images[1]}, Architectures=["x86_64"])
        lam.create_alias(FunctionName=name, Name="live",
                         FunctionVersion=lam.publish_version(FunctionName=name)["Version"])

    gate_name, hand_name = f"bench-gate-{uuid.uuid4().hex[:6]}", f"bench-hand-{uuid.uuid4().hex[:6]}"
    fresh(gate_name)
    fresh(hand_name)
    gate_wall, gate_api, gate_wait, gate_calls, hand_wall = [], [], [], [], []
    for n in range(runs):
        image = images[n % 2]
        started = time.perf_counter()
        out = subprocess.run(
            [GATE, "deploy", gate_name, "--image", image, "--event", event, "--format", "json", "-q"],
            env=ENV, check=True, capture_output=True, text=True,
        ).stdout
        gate_wall.append(time.perf_counter() - started)
        result = json.loads(out)
        gate_api.append(result["timings"]["api_seconds"])
        gate_wait.append(result["timings"]["wait_seconds"])
        gate_calls.append(sum(1 for s in result["timings"]["steps"] if s["kind"] == "api"))

        started = time.perf_counter()
        lam.update_function_code(FunctionName=hand_name, ImageUri=image)
        lam.get_waiter("function_updated_v2").wait(FunctionName=hand_name)
        version = lam.publish_version(FunctionName=hand_name)["Version"]
        lam.invoke(FunctionName=hand_name, Qualifier=version, Payload=payload)
        lam.update_alias(FunctionName=hand_name, Name="live", FunctionVersion=version)
        hand_wall.append(time.perf_counter() - started)

    def spread(values):
        return f"median {statistics.median(values) * 1000:.0f} ms (min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})"

    print(f"{runs} deploys each, alternating two images, one smoke event, at once, moto at {MOTO}")
    print(f"| lambda-gate deploy (process start included) | {spread(gate_wall)} |")
    print(f"|   of which API calls | {spread(gate_api)}, {statistics.median(gate_calls):.0f} calls |")
    print(f"|   of which waits | {spread(gate_wait)} |")
    print(f"| boto3 by hand (5 calls + waiter, no checks, in-process) | {spread(hand_wall)} |")

    # SIGTERM mid-canary: from the signal to the exit, with the alias whole again.
    signal_to_exit = []
    for n in range(min(runs, 5)):
        name = f"bench-term-{uuid.uuid4().hex[:6]}"
        fresh(name)
        child = subprocess.Popen(
            [GATE, "deploy", name, "--image", images[0], "--event", event, "--canary", "10",
             "--bake", "5m", "--format", "json", "-q"],
            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.time() + 30
        while not lam.get_alias(FunctionName=name, Name="live").get("RoutingConfig", {}).get(
            "AdditionalVersionWeights"
        ):
            if time.time() > deadline or child.poll() is not None:
                raise SystemExit(f"the canary never started: {child.communicate()[1]}")
            time.sleep(0.1)
        started = time.perf_counter()
        child.terminate()
        child.communicate()
        signal_to_exit.append(time.perf_counter() - started)
        alias = lam.get_alias(FunctionName=name, Name="live")
        if alias.get("RoutingConfig", {}).get("AdditionalVersionWeights") or alias["FunctionVersion"] != "1":
            raise SystemExit(f"SIGTERM left the alias split: {alias}")
    print(f"| SIGTERM mid-canary to exit, alias whole ({len(signal_to_exit)} runs) | {spread(signal_to_exit)} |")


if __name__ == "__main__":
    main()

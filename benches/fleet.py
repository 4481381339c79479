#!/usr/bin/env python3
"""The fleet figure of BENCHMARKS.md, reproducible: `lambda-gate fleet` over N image functions
in moto (one alias each, every tenth split between two versions), their images in the local
registry (eight images, labelled with their base as `lambda-gate build` labels them), against
the same reads made by hand with boto3 and urllib (ListFunctions, ListAliases, GetFunction per
serving version, and each distinct image's manifest and config once), side by side in one run,
against the moto server and registry that `tests/services.sh` starts.

    python3 benches/fleet.py [--functions 200] [--runs 5]
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATE = os.path.join(ROOT, "target", "release", "lambda-gate")
REGISTRY = os.environ.get("LAMBDA_GATE_TEST_REGISTRY", "127.0.0.1:5000")
MOTO = os.environ.get("LAMBDA_GATE_TEST_MOTO", "http://127.0.0.1:5050")
REGION = "sa-east-1"
RELEASE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base:3.12"
ENV = dict(
    os.environ,
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_REGION=REGION,
    AWS_ENDPOINT_URL_LAMBDA=MOTO,
    AWS_ENDPOINT_URL_STS=MOTO,
    DOCKER_CONFIG="/nonexistent",
)
KW = dict(endpoint_url=MOTO, region_name=REGION, aws_access_key_id="testing",
          aws_secret_access_key="testing")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def push_image(repository: str, labels: dict, tag: str) -> str:
    """A one-layer OCI image whose config carries `labels`; returns `repository@digest`."""
    host, path = repository.split("/", 1)
    base = f"http://{host}/v2/{path}"

    def blob(data: bytes):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        location = urllib.request.urlopen(
            urllib.request.Request(base + "/blobs/uploads/", method="POST")).headers["Location"]
        url = location if location.startswith("http") else f"http://{host}{location}"
        sep = "&" if "?" in url else "?"
        urllib.request.urlopen(urllib.request.Request(
            f"{url}{sep}digest={digest}", data=data, method="PUT",
            headers={"Content-Type": "application/octet-stream"}))
        return digest, len(data)

    layer = blob(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00")
    config = blob(json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(b"").hexdigest()]},
    }).encode())
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config[0], "size": config[1]},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer[0], "size": layer[1]}],
    }).encode()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    for reference in (digest, tag):
        urllib.request.urlopen(urllib.request.Request(
            f"{base}/manifests/{reference}", data=manifest, method="PUT",
            headers={"Content-Type": OCI_MANIFEST}))
    return f"{repository}@{digest}"


def by_hand(lam) -> int:
    """What a script would read for the same view: every function, alias and serving version,
    and each distinct image's manifest and config once. Returns the versions read."""
    images = {}
    versions = 0
    marker = None
    while True:
        page = lam.list_functions(**({"Marker": marker} if marker else {}))
        for function in page["Functions"]:
            if function.get("PackageType") != "Image":
                continue
            name = function["FunctionName"]
            for alias in lam.list_aliases(FunctionName=name)["Aliases"]:
                serving = [alias["FunctionVersion"]] + list(
                    alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}))
                for version in serving:
                    uri = lam.get_function(FunctionName=name, Qualifier=version)["Code"]["ImageUri"]
                    versions += 1
                    if uri not in images:
                        repository, digest = uri.split("@")
                        host, path = repository.split("/", 1)
                        request = urllib.request.Request(
                            f"http://{host}/v2/{path}/manifests/{digest}", headers={"Accept": OCI_MANIFEST})
                        manifest = json.load(urllib.request.urlopen(request))
                        config = json.load(urllib.request.urlopen(
                            f"http://{host}/v2/{path}/blobs/{manifest['config']['digest']}"))
                        images[uri] = config["config"]["Labels"].get("org.opencontainers.image.base.digest")
        marker = page.get("NextMarker")
        if not marker:
            return versions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    urllib.request.urlopen(urllib.request.Request(
        MOTO + "/moto-api/config", data=json.dumps({"lambda": {"use_docker": False}}).encode(),
        method="POST", headers={"Content-Type": "application/json"}))
    lam = boto3.client("lambda", **KW)
    iam = boto3.client("iam", **KW)
    try:
        role = iam.create_role(RoleName="bench-fleet", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    except Exception:
        role = iam.get_role(RoleName="bench-fleet")["Role"]["Arn"]
    repository = f"{REGISTRY}/bench/fleet-{uuid.uuid4().hex[:8]}"
    digests = ["sha256:" + str(n) * 64 for n in range(8)]
    images = [
        push_image(repository, {"org.opencontainers.image.base.name": f"{RELEASE}@{d}",
                                "org.opencontainers.image.base.digest": d}, f"build-{n}")
        for n, d in enumerate(digests)
    ]
    # The functions are deleted at the end: the region holds only these while it runs.
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    for n in range(args.functions):
        name = f"{prefix}-{n:04d}"
        lam.create_function(FunctionName=name, Role=role, PackageType="Image",
                            Code={"ImageUri": images[n % len(images)]}, Architectures=["x86_64"])
        first = lam.publish_version(FunctionName=name)["Version"]
        routing = {}
        if n % 10 == 0:
            for _ in range(50):
                if lam.get_function_configuration(FunctionName=name).get("LastUpdateStatus", "Successful") == "Successful":
                    break
                time.sleep(0.05)
            lam.update_function_code(FunctionName=name, ImageUri=images[(n + 1) % len(images)])
            for _ in range(50):
                if lam.get_function_configuration(FunctionName=name).get("LastUpdateStatus", "Successful") == "Successful":
                    break
                time.sleep(0.05)
            second = lam.publish_version(FunctionName=name)["Version"]
            routing = {"RoutingConfig": {"AdditionalVersionWeights": {second: 0.1}}}
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion=first, **routing)
    print(f"set-up: {args.functions} functions in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as work:
        policy = os.path.join(work, "lambda-gate.toml")
        with open(policy, "w") as f:
            f.write(f'[dockerfile.digests]\n"{RELEASE}" = "{digests[0]}"\n\n'
                    f'[dockerfile.previous-digests]\n"{RELEASE}" = [{{ digest = "{digests[1]}", allowed-until = 2999-12-31 }}]\n\n'
                    f'[fleet]\naliases = ["live"]\n\n[[fleet.accounts]]\nname = "bench"\nregions = ["{REGION}"]\n')
        gate, hand = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            out = subprocess.run([GATE, "fleet", "--config", policy, "--format", "json"],
                                 env=ENV, capture_output=True, text=True)
            gate.append(time.perf_counter() - started)
            if out.returncode not in (0, 1):
                raise SystemExit(f"fleet failed: {out.stderr}")
            fleet = json.loads(out.stdout)
            started = time.perf_counter()
            versions = by_hand(lam)
            hand.append(time.perf_counter() - started)
        print(f"fleet: {fleet['summary']['functions']} functions, {fleet['summary']['versions_serving']} serving "
              f"versions ({fleet['summary']['by_status']}); by hand: {versions} versions")

    for n in range(args.functions):
        lam.delete_function(FunctionName=f"{prefix}-{n:04d}")

    def spread(values):
        return f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"

    print(f"| `lambda-gate fleet --format json` (process start included) | {spread(gate)} |")
    print(f"| boto3 + urllib by hand, sequential, in-process | {spread(hand)} |")


if __name__ == "__main__":
    main()

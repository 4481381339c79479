#!/usr/bin/env python3
"""Makes the stand-in base images the tests build on (no image can be pulled here).

For each architecture it builds a root from Debian packages (busybox-static for the shell tools,
CPython 3.11 for the handler), adds stand-ins for what upstream images carry that cannot be
fetched (the Lambda Runtime Interface Emulator, dnf, pip, cargo), and pushes the image with a
config that names its architecture, then one image index over them, to a local registry:

    make_images.py --registry 127.0.0.1:5000 --repository standin/lambda-python --tag 3.12 DEBS_DIR

DEBS_DIR holds `<arch>/*.deb` (see tests/services.sh). Uses only the standard library, so the
result does not depend on the code under test.
"""
import argparse, gzip, hashlib, io, json, os, subprocess, sys, tarfile, tempfile, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BUSYBOX_TOOLS = "sh ls cat cp mv rm mkdir env sleep true false uname echo chmod ln test grep sed head".split()
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def make_root(debs, root):
    for deb in sorted(os.listdir(debs)):
        subprocess.run(["dpkg-deb", "-x", os.path.join(debs, deb), root], check=True)
    os.makedirs(f"{root}/bin", exist_ok=True)
    for tool in BUSYBOX_TOOLS:
        link = f"{root}/bin/{tool}"
        if not os.path.lexists(link):
            os.symlink("/bin/busybox", link)
    for name in ("python3", "python"):
        if not os.path.lexists(f"{root}/usr/bin/{name}"):
            os.symlink("python3.11", f"{root}/usr/bin/{name}")
    for directory in ("usr/local/bin", "var/task", "var/runtime", "tmp"):
        os.makedirs(f"{root}/{directory}", exist_ok=True)
    os.chmod(f"{root}/tmp", 0o1777)
    installs = {
        "usr/local/bin/aws-lambda-rie": "aws-lambda-rie",
        "lambda-entrypoint.sh": "lambda-entrypoint.sh",
        "var/runtime/bootstrap": "offline-tool",
        "usr/bin/dnf": "offline-tool",
        "usr/local/bin/pip": "pip",
        "usr/local/bin/cargo": "cargo",
        "usr/local/bin/strip": "offline-tool",
    }
    for target, source in installs.items():
        with open(os.path.join(HERE, source), "rb") as src, open(f"{root}/{target}", "wb") as dst:
            dst.write(src.read())
        os.chmod(f"{root}/{target}", 0o755)
    # The AWS base ships boto3 with its runtime; its metadata is what an SBOM of the base finds.
    os.makedirs(f"{root}/var/runtime/boto3-1.34.145.dist-info", exist_ok=True)
    with open(f"{root}/var/runtime/boto3-1.34.145.dist-info/METADATA", "w") as f:
        f.write("Metadata-Version: 2.1\nName: boto3\nVersion: 1.34.145\n")


def layer_bytes(root):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(dirs + files):
                path = os.path.join(directory, name)
                info = tar.gettarinfo(path, arcname=os.path.relpath(path, root))
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                if info.isreg():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    diff = raw.getvalue()
    return diff, gzip.compress(diff, compresslevel=1, mtime=0)


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def request(method, url, data=None, content_type=None):
    req = urllib.request.Request(url, data=data, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req) as response:
        return response.headers


def push_blob(base, repository, data):
    location = request("POST", f"{base}/v2/{repository}/blobs/uploads/")["Location"]
    if location.startswith("/"):
        location = base + location
    separator = "&" if "?" in location else "?"
    request("PUT", f"{location}{separator}digest={digest(data)}", data, "application/octet-stream")
    return {"digest": digest(data), "size": len(data)}


def push_manifest(base, repository, reference, body, media_type):
    request("PUT", f"{base}/v2/{repository}/manifests/{reference}", body, media_type)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--registry", required=True)
    parser.add_argument("--repository", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("debs")
    args = parser.parse_args()
    base = f"http://{args.registry}"
    children = []
    for arch in ("amd64", "arm64"):
        with tempfile.TemporaryDirectory() as root:
            make_root(os.path.join(args.debs, arch), root)
            diff, layer = layer_bytes(root)
        config = json.dumps({
            "architecture": arch, "os": "linux",
            "config": {
                "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "LAMBDA_TASK_ROOT=/var/task",
                        "LAMBDA_RUNTIME_DIR=/var/runtime", "LANG=C.UTF-8"],
                "Entrypoint": ["/lambda-entrypoint.sh"], "WorkingDir": "/var/task",
            },
            "rootfs": {"type": "layers", "diff_ids": [digest(diff)]},
        }, sort_keys=True).encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": MANIFEST,
            "config": {"mediaType": CONFIG, **push_blob(base, args.repository, config)},
            "layers": [{"mediaType": LAYER, **push_blob(base, args.repository, layer)}],
        }, sort_keys=True).encode()
        push_manifest(base, args.repository, f"{args.tag}-{arch}", manifest, MANIFEST)
        children.append({"mediaType": MANIFEST, "digest": digest(manifest), "size": len(manifest),
                         "platform": {"architecture": arch, "os": "linux"}})
    index = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": children}).encode()
    push_manifest(base, args.repository, args.tag, index, INDEX)
    print(f"{args.registry}/{args.repository}:{args.tag}@{digest(index)}")


if __name__ == "__main__":
    sys.exit(main())

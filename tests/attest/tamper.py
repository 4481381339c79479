#!/usr/bin/env python3
"""Tampers with an image's attestations in the registry, as someone with push access and no
signing key could: with plain distribution API calls (no lambda-gate code), it rewrites the
referrers-tag index of an image so that its gate verdict is one the key never signed.

    tamper.py REGISTRY REPOSITORY SUBJECT_DIGEST flip-byte
        the verdict's statement with one byte changed (`"passed"` becomes `"passee"`), the
        signature kept: the envelope no longer verifies.
    tamper.py REGISTRY REPOSITORY SUBJECT_DIGEST swap-subject OTHER_DIGEST
        OTHER_DIGEST's own verdict (signed, valid, about OTHER_DIGEST) attached to SUBJECT_DIGEST.

Either way the image's referrers are replaced by the forged one. Prints the forged referrer's
manifest digest.
"""
import base64, hashlib, json, sys, urllib.request

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
VERDICT = "https://lambda-gate.dev/attestation/verdict/v1"


class Registry:
    def __init__(self, host, repository):
        self.base = f"http://{host}/v2/{repository}"

    def get(self, path, accept):
        request = urllib.request.Request(f"{self.base}/{path}", headers={"Accept": accept})
        with urllib.request.urlopen(request) as response:
            return response.read(), response.headers.get("Content-Type")

    def put_blob(self, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = urllib.request.Request(f"{self.base}/blobs/uploads/", method="POST", data=b"")
        with urllib.request.urlopen(start) as response:
            location = response.headers["Location"]
        if location.startswith("/"):
            location = self.base.split("/v2/")[0] + location
        separator = "&" if "?" in location else "?"
        upload = urllib.request.Request(
            f"{location}{separator}digest={digest}",
            method="PUT",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        urllib.request.urlopen(upload).close()
        return {"digest": digest, "size": len(data)}

    def put_manifest(self, reference, document, media_type):
        data = json.dumps(document, separators=(",", ":")).encode()
        request = urllib.request.Request(
            f"{self.base}/manifests/{reference}",
            method="PUT",
            data=data,
            headers={"Content-Type": media_type},
        )
        urllib.request.urlopen(request).close()
        return {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}

    def referrers(self, subject):
        data, _ = self.get(f"manifests/{subject.replace(':', '-')}", INDEX)
        return json.loads(data)

    def verdict_envelope(self, subject):
        for descriptor in self.referrers(subject)["manifests"]:
            if descriptor.get("annotations", {}).get("in-toto.io/predicate-type") != VERDICT:
                continue
            manifest, _ = self.get(f"manifests/{descriptor['digest']}", MANIFEST)
            layer = next(l for l in json.loads(manifest)["layers"] if l["mediaType"] == DSSE)
            blob, _ = self.get(f"blobs/{layer['digest']}", "*/*")
            return json.loads(blob)
        raise SystemExit(f"{subject}: no verdict referrer")

    def replace_referrers(self, subject, envelope):
        """Attaches `envelope` to `subject` as its only referrer."""
        data, media_type = self.get(
            f"manifests/{subject}", ",".join([INDEX, MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"])
        )
        config = self.put_blob(b"{}")
        layer = self.put_blob(json.dumps(envelope).encode())
        artifact = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "artifactType": DSSE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", **config},
            "layers": [{"mediaType": DSSE, **layer}],
            "subject": {"mediaType": media_type, "digest": subject, "size": len(data)},
            "annotations": {"in-toto.io/predicate-type": VERDICT},
        }
        descriptor = self.put_manifest(f"sha256:{hashlib.sha256(json.dumps(artifact, separators=(',', ':')).encode()).hexdigest()}", artifact, MANIFEST)
        descriptor.update({"artifactType": DSSE, "annotations": artifact["annotations"]})
        self.put_manifest(
            subject.replace(":", "-"),
            {"schemaVersion": 2, "mediaType": INDEX, "manifests": [descriptor]},
            INDEX,
        )
        return descriptor["digest"]


def main(host, repository, subject, mode, other=None):
    registry = Registry(host, repository)
    if mode == "flip-byte":
        envelope = registry.verdict_envelope(subject)
        statement = base64.b64decode(envelope["payload"])
        assert b'"passed"' in statement, statement
        envelope["payload"] = base64.b64encode(statement.replace(b'"passed"', b'"passee"', 1)).decode()
    elif mode == "swap-subject":
        envelope = registry.verdict_envelope(other)
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(registry.replace_referrers(subject, envelope))


if __name__ == "__main__":
    main(*sys.argv[1:])

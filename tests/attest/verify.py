#!/usr/bin/env python3
"""Reads an image's attestations the way a team's own tooling would, with none of lambda-gate's
code: finds the referrers with the `oras` client (the OCI referrers tag schema: the index under
the tag `sha256-<hex>`), verifies each DSSE envelope with securesystemslib against the public
key, validates the in-toto Statement and the SLSA provenance with the in-toto attestation
framework's own types, and the SBOM with CycloneDX's own validator.

    verify.py REGISTRY REPOSITORY SUBJECT_DIGEST PUBLIC_KEY.pem

Prints one JSON object: for each referrer, its predicate type, whether each check passed and the
predicate (the test asserts on it).
"""
import base64, json, sys

import oras.provider
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"


def main(registry, repository, subject, key_file):
    client = oras.provider.Registry(hostname=registry, insecure=True)
    name = f"{registry}/{repository}"
    index = client.get_manifest(f"{name}:{subject.replace(':', '-')}", allowed_media_type=[INDEX])
    with open(key_file, "rb") as f:
        public = load_pem_public_key(f.read())
    found = []
    for descriptor in index["manifests"]:
        manifest = client.get_manifest(f"{name}@{descriptor['digest']}", allowed_media_type=[MANIFEST])
        layer = next(l for l in manifest["layers"] if l["mediaType"] == DSSE)
        blob = client.get_blob(f"{name}@{layer['digest']}", layer["digest"]).content
        envelope_dict = json.loads(blob)
        envelope = Envelope.from_dict(json.loads(blob))
        keyid = envelope_dict["signatures"][0]["keyid"]
        key = SSlibKey.from_crypto(public, keyid=keyid)
        verified = envelope.verify([key], 1)
        statement_json = base64.b64decode(envelope_dict["payload"])
        proto = json_format.Parse(statement_json, statement_pb2.Statement())
        Statement.copy_from_pb(proto).validate()
        statement = json.loads(statement_json)
        entry = {
            "artifactType": manifest.get("artifactType"),
            "subject": manifest["subject"]["digest"],
            "annotations": manifest.get("annotations", {}),
            "predicateType": statement["predicateType"],
            "subjects": [s["digest"]["sha256"] for s in statement["subject"]],
            "signedBy": list(verified.keys()),
            "predicate": statement["predicate"],
        }
        if statement["predicateType"] == "https://slsa.dev/provenance/v1":
            # Strict: a field the SLSA provenance v1 schema does not have is an error.
            json_format.ParseDict(statement["predicate"], provenance_pb2.Provenance())
            entry["provenanceValid"] = True
        if statement["predicateType"] == "https://cyclonedx.org/bom":
            errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(statement["predicate"]))
            entry["cyclonedxValid"] = errors is None
            entry["cyclonedxErrors"] = str(errors) if errors else None
        found.append(entry)
    print(json.dumps({"referrers": found}))


if __name__ == "__main__":
    main(*sys.argv[1:])

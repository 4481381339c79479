"""moto's server, made as strict as ECR where the runner's tests depend on it.

moto 5.2 matches a tag-mutability exclusion filter with `re.match`, a regex *prefix*: the
filter `test` then also lets `test-amd64` move, and `.` matches any character. ECR matches a
filter as a wildcard over the *whole* tag (its documentation's example excludes `dev-*` to cover
the tags starting with `dev-`; `dev` covers `dev` only), and refuses to move an immutable tag
with `ImageTagAlreadyExistsException`. This launcher replaces moto's check with ECR's reading
before it starts the server, so a test that passes here would pass against ECR on this point.

moto also names an image by a digest of its own (the sha256 of its layer digests joined, or of
a random number for an index), where ECR's image digest is the sha256 of the manifest bytes as
pushed. The runner looks a missing image up with one BatchGetImage by that digest, as it does
against ECR; here moto is given ECR's digest so that the lookup means what it means on AWS.

A published Lambda version keeps the image it was published with (moto's versions follow
$LATEST's image otherwise), and an image update is in progress for a moment, refusing another
meanwhile, as on AWS (moto reports it done at once). CloudWatch's composite alarms, which deploys accept as judges, are stored by moto but cannot
be created through its API: the PutCompositeAlarm action is added below.

KMS Sign: moto signs whatever it is given as a raw message. KMS takes at most 4,096 bytes of raw
message (`ValidationException` beyond), and with `MessageType = DIGEST` signs the given digest
as it is (its length must be the algorithm's). Both are done here as KMS documents them, so a
signer that sends a large envelope raw fails here as on AWS, and a digest signature verifies.
KMS's GetPublicKey names the key's `KeySpec` (moto only its older name, `CustomerMasterKeySpec`).

Usage: python3 moto_strict.py [moto_server arguments]
"""

import base64
import hashlib
import json
import re
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
from moto.kms.exceptions import ValidationException as KmsValidationException
from moto.kms.responses import KmsResponse

from moto.core.exceptions import JsonRESTError
from moto.ecr import models
from moto.ecr.models import ECRBackend, RepoTagMutability


class ImageTagAlreadyExistsException(JsonRESTError):
    code = 400

    def __init__(self, repository_name: str, image_tag: str) -> None:
        super().__init__(
            error_type="ImageTagAlreadyExistsException",
            message=(
                f"The image tag '{image_tag}' already exists in the '{repository_name}' "
                "repository and cannot be overwritten because the tag is immutable."
            ),
        )


def wildcard_matches(pattern: str, tag: str) -> bool:
    """ECR's reading of a WILDCARD filter: `*` is any run of characters, over the whole tag."""
    regex = "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern))
    return re.fullmatch(regex, tag) is not None


def is_mutable(repository, tag: str) -> bool:
    filters = repository.image_tag_mutability_exclusion_filters or []
    excluded = any(wildcard_matches(f["filter"], tag) for f in filters)
    mode = repository.image_tag_mutability
    if mode == RepoTagMutability.IMMUTABLE:
        return False
    if mode == RepoTagMutability.IMMUTABLE_WITH_EXCLUSION:
        return excluded
    if mode == RepoTagMutability.MUTABLE_WITH_EXCLUSION:
        return not excluded
    return True


def resolve_image_tag_mutability(self, repository, proposed_image_tag):
    """The images already carrying the tag; refuses to move an immutable one, as ECR does."""
    if not proposed_image_tag:
        return []
    existing = [i for i in repository.images if proposed_image_tag in i.image_tags]
    if existing and not is_mutable(repository, proposed_image_tag):
        raise ImageTagAlreadyExistsException(repository.name, proposed_image_tag)
    return existing


ECRBackend._resolve_image_tag_mutability = resolve_image_tag_mutability
assert models.ECRBackend._resolve_image_tag_mutability is resolve_image_tag_mutability


def create_digest(self) -> None:
    """ECR's image digest: the sha256 of the manifest's bytes, exactly as they were pushed."""
    self._image_digest = "sha256:" + hashlib.sha256(self.image_manifest.encode("utf-8")).hexdigest()


models.Image._create_digest = create_digest

# Lambda: moto 5.2 publishes a version as a shallow copy of $LATEST that shares its `code`
# dict, so a later UpdateFunctionCode changes the image every published version reports. On
# AWS a version is immutable: a deploy that reads what an alias's version runs must see that.
from moto.awslambda.models import LambdaFunction

_update_function_code = LambdaFunction.update_function_code


def update_function_code(self, updated_spec):
    self.code = dict(self.code)
    return _update_function_code(self, updated_spec)


LambdaFunction.update_function_code = update_function_code

# Lambda: moto 5.2 reports an image update `Successful` at once and takes the next update at
# any time. On AWS an update is `InProgress` for a while (seconds for an image), and another
# UpdateFunctionCode meanwhile is refused with ResourceConflictException ("An update is in
# progress"). Here every code update is in progress for UPDATE_SECONDS.
import time

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaBackend

UPDATE_SECONDS = 1.5


class UpdateInProgress(LambdaClientError):
    code = 409

    def __init__(self, arn: str) -> None:
        super().__init__(
            "ResourceConflictException",
            f"The operation cannot be performed at this time. An update is in progress for resource: {arn}",
        )


def updating(function) -> bool:
    return time.monotonic() < getattr(function, "_updating_until", 0.0)


_backend_update_function_code = LambdaBackend.update_function_code


def backend_update_function_code(self, function_name, qualifier, body):
    function = self.get_function(function_name, qualifier)
    if updating(function):
        raise UpdateInProgress(function.function_arn)
    result = _backend_update_function_code(self, function_name, qualifier, body)
    function._updating_until = time.monotonic() + UPDATE_SECONDS
    if isinstance(result, dict) and "LastUpdateStatus" in result:
        result["LastUpdateStatus"] = "InProgress"
    return result


LambdaBackend.update_function_code = backend_update_function_code

_get_configuration = LambdaFunction.get_configuration


def get_configuration(self, on_create: bool = False):
    config = _get_configuration(self, on_create)
    if "LastUpdateStatus" in config and updating(self):
        config["LastUpdateStatus"] = "InProgress"
    return config


LambdaFunction.get_configuration = get_configuration

# CloudWatch: moto 5.2 stores composite alarms (an `AlarmRule`, listed under CompositeAlarms)
# but has no PutCompositeAlarm action; its PutMetricAlarm reads the same parameters.
from moto.cloudwatch.responses import CloudWatchResponse

CloudWatchResponse.put_composite_alarm = CloudWatchResponse.put_metric_alarm

# Lambda: revisions. moto 5.2 gives a function no RevisionId, never moves an alias's, and checks
# neither. On AWS every change of $LATEST (code or configuration) and every alias update moves
# the revision, and UpdateFunctionCode, UpdateFunctionConfiguration, PublishVersion and
# UpdateAlias given a RevisionId that is no longer current are refused with
# PreconditionFailedException: the compare-and-set a deploy relies on. Here they are.
import json
import uuid

from moto.awslambda.exceptions import PreconditionFailedException
from moto.awslambda.models import LambdaAlias
from moto.awslambda.responses import LambdaResponse

STALE = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)


def revision(function) -> str:
    if not getattr(function, "_revision", None):
        function._revision = str(uuid.uuid4())
    return function._revision


def move_revision(function) -> None:
    function._revision = str(uuid.uuid4())


def check_revision(current: str, given) -> None:
    if given and given != current:
        raise PreconditionFailedException(STALE)


_get_configuration_revised = LambdaFunction.get_configuration


def get_configuration_with_revision(self, on_create: bool = False):
    config = _get_configuration_revised(self, on_create)
    config["RevisionId"] = revision(self)
    return config


LambdaFunction.get_configuration = get_configuration_with_revision

_update_configuration = LambdaFunction.update_configuration


def update_configuration(self, config_updates):
    check_revision(revision(self), config_updates.get("RevisionId"))
    move_revision(self)
    return _update_configuration(self, config_updates)


LambdaFunction.update_configuration = update_configuration

# Faults a test asks for through a tag on the function (`standin-fault`), each taken once:
#   update-fails            the next image update ends `Failed` (Lambda could not use the image)
#   refuse-update-after-1   the next image update goes through, the one after it is refused
#   provisioned-fails       the next provisioned-concurrency allocation ends `FAILED`
#   provisioned-slow        the next provisioned-concurrency allocation takes ten minutes
FAULT_TAG = "standin-fault"


class AccessDenied(LambdaClientError):
    code = 403

    def __init__(self, arn: str) -> None:
        super().__init__(
            "AccessDeniedException",
            f"User is not authorized to perform: lambda:UpdateFunctionCode on resource: {arn}",
        )


def take_fault(function, fault: str) -> bool:
    if function.tags.get(FAULT_TAG) == fault:
        del function.tags[FAULT_TAG]
        return True
    return False


_update_code_checked = LambdaBackend.update_function_code


def update_function_code_checked(self, function_name, qualifier, body):
    function = self.get_function(function_name, qualifier)
    check_revision(revision(function), body.get("RevisionId"))
    if getattr(function, "_refuse_next_update", False):
        function._refuse_next_update = False
        raise AccessDenied(function.function_arn)
    if take_fault(function, "refuse-update-after-1"):
        function._refuse_next_update = True
    result = _update_code_checked(self, function_name, qualifier, body)
    function._update_failed = take_fault(function, "update-fails")
    move_revision(function)
    if isinstance(result, dict):
        result["RevisionId"] = revision(function)
    return result


LambdaBackend.update_function_code = update_function_code_checked

_get_configuration_failing = LambdaFunction.get_configuration


def get_configuration_failing(self, on_create: bool = False):
    config = _get_configuration_failing(self, on_create)
    if getattr(self, "_update_failed", False) and not updating(self):
        config["LastUpdateStatus"] = "Failed"
        config["LastUpdateStatusReason"] = "The image manifest or layer media type is not supported."
        config["LastUpdateStatusReasonCode"] = "InvalidImage"
    return config


LambdaFunction.get_configuration = get_configuration_failing

_publish_version = LambdaResponse.publish_version


def publish_version(self):
    from urllib.parse import unquote

    function = self.backend.get_function(unquote(self.path.split("/")[-2]), None)
    check_revision(revision(function), self._get_param("RevisionId"))
    sha = self._get_param("CodeSha256")
    if sha and sha != function.code_sha_256:
        raise PreconditionFailedException(
            "CodeSHA256 does not match the latest code's CodeSHA256"
        )
    return _publish_version(self)


LambdaResponse.publish_version = publish_version

_alias_update = LambdaAlias.update


def alias_update(self, description, function_version, routing_config):
    weights = lambda routing: (routing or {}).get("AdditionalVersionWeights") or {}
    moved = (function_version is not None and function_version != self.function_version) or (
        routing_config is not None and weights(routing_config) != weights(self.routing_config)
    )
    _alias_update(self, description, function_version, routing_config)
    self.revision_id = str(uuid.uuid4())
    if moved:
        # Lambda moves an alias's provisioned concurrency with it (to the new version, or shared
        # by the weights): allocated again, in progress meanwhile.
        provisioned = PROVISIONED.get(self.arn)
        if provisioned:
            provisioned.allocate()


LambdaAlias.update = alias_update

_update_alias_response = LambdaResponse.update_alias


def update_alias_checked(self):
    from urllib.parse import unquote

    function_name = unquote(self.path.rsplit("/")[-3])
    alias_name = unquote(self.path.rsplit("/", 2)[-1])
    alias = self.backend.get_alias(name=alias_name, function_name=function_name)
    check_revision(alias.revision_id, json.loads(self.body or "{}").get("RevisionId"))
    return _update_alias_response(self)


LambdaResponse.update_alias = update_alias_checked

# Lambda: provisioned concurrency, which moto 5.2 does not have. As documented: configured on a
# version or an alias (never $LATEST), refused on an alias that splits traffic ("Alias with
# weights can not be used with Provisioned Concurrency"), IN_PROGRESS while allocated (here for
# PROVISIONED_SECONDS) then READY, or FAILED with a reason; an alias that moves takes it along.
from moto.awslambda import urls as lambda_urls
from moto.awslambda.exceptions import InvalidParameterValueException

PROVISIONED_SECONDS = 1.0
PROVISIONED: dict = {}


class ProvisionedNotFound(LambdaClientError):
    code = 404

    def __init__(self) -> None:
        super().__init__(
            "ProvisionedConcurrencyConfigNotFoundException",
            "No Provisioned Concurrency Config found for this function",
        )


class Provisioned:
    def __init__(self, function, requested: int) -> None:
        self.function = function
        self.requested = requested
        self.allocate()

    def allocate(self) -> None:
        slow = take_fault(self.function, "provisioned-slow")
        self.ready_at = time.monotonic() + (600 if slow else PROVISIONED_SECONDS)
        self.fails = take_fault(self.function, "provisioned-fails")
        self.last_modified = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime())

    def to_json(self) -> dict:
        ready = time.monotonic() >= self.ready_at
        status = "IN_PROGRESS" if not ready else ("FAILED" if self.fails else "READY")
        answer = {
            "RequestedProvisionedConcurrentExecutions": self.requested,
            "AvailableProvisionedConcurrentExecutions": self.requested if status == "READY" else 0,
            "AllocatedProvisionedConcurrentExecutions": self.requested if status == "READY" else 0,
            "Status": status,
            "LastModified": self.last_modified,
        }
        if status == "FAILED":
            answer["StatusReason"] = "FUNCTION_ERROR_INIT_FAILURE: the function failed to initialize"
        return answer


def provisioned_key(response) -> tuple:
    from urllib.parse import unquote

    function_name = unquote(self_path_function(response.path))
    qualifier = response._get_param("Qualifier") or response.querystring.get("Qualifier", [None])[0]
    function = response.backend.get_function(function_name, None)
    return function, qualifier


def self_path_function(path: str) -> str:
    return path.rstrip("/").split("/")[-2]


def put_provisioned_concurrency_config(self):
    function, qualifier = provisioned_key(self)
    if not qualifier or qualifier == "$LATEST":
        raise InvalidParameterValueException(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
        )
    arn = f"{function.function_arn}:{qualifier}"
    if not qualifier.isdigit():
        alias = self.backend.get_alias(name=qualifier, function_name=function.function_name)
        weights = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
        if weights:
            raise InvalidParameterValueException(
                "Alias with weights can not be used with Provisioned Concurrency"
            )
        arn = alias.arn
    requested = int(json.loads(self.body or "{}")["ProvisionedConcurrentExecutions"])
    PROVISIONED[arn] = Provisioned(function, requested)
    return 202, {"status": 202}, json.dumps(PROVISIONED[arn].to_json())


def provisioned_arn(response) -> str:
    function, qualifier = provisioned_key(response)
    return f"{function.function_arn}:{qualifier}"


def get_provisioned_concurrency_config(self):
    provisioned = PROVISIONED.get(provisioned_arn(self))
    if provisioned is None:
        raise ProvisionedNotFound()
    return 200, {}, json.dumps(provisioned.to_json())


def delete_provisioned_concurrency_config(self):
    if PROVISIONED.pop(provisioned_arn(self), None) is None:
        raise ProvisionedNotFound()
    return 204, {"status": 204}, ""


LambdaResponse.put_provisioned_concurrency_config = put_provisioned_concurrency_config
LambdaResponse.get_provisioned_concurrency_config = get_provisioned_concurrency_config
LambdaResponse.delete_provisioned_concurrency_config = delete_provisioned_concurrency_config
lambda_urls.url_paths[
    r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"
] = LambdaResponse.dispatch


KMS_RAW_MESSAGE_LIMIT = 4096
KMS_DIGESTS = {
    "ECDSA_SHA_256": (hashes.SHA256, 32),
    "ECDSA_SHA_384": (hashes.SHA384, 48),
    "ECDSA_SHA_512": (hashes.SHA512, 64),
}
moto_kms_sign = KmsResponse.sign


def kms_sign_as_documented(self):
    message = self._get_param("Message") or b""
    if isinstance(message, str):
        message = message.encode("utf-8")
    message_type = self._get_param("MessageType") or "RAW"
    algorithm = self._get_param("SigningAlgorithm")
    if message_type == "RAW" and len(message) > KMS_RAW_MESSAGE_LIMIT:
        raise KmsValidationException(
            "1 validation error detected: Value at 'Message' failed to satisfy constraint: "
            f"Member must have length less than or equal to {KMS_RAW_MESSAGE_LIMIT}"
        )
    if message_type != "DIGEST":
        return moto_kms_sign(self)
    if algorithm not in KMS_DIGESTS:
        raise KmsValidationException(f"Digest signing is not served here for {algorithm}")
    hash_type, length = KMS_DIGESTS[algorithm]
    if len(message) != length:
        raise KmsValidationException(f"Digest is invalid length for algorithm {algorithm}.")
    key = self.kms_backend.describe_key(self._get_param("KeyId"))
    if key.key_usage != "SIGN_VERIFY" or algorithm not in (key.signing_algorithms or []):
        raise KmsValidationException(f"{algorithm} is not valid for key {key.id}")
    signature = key.private_key.private_key.sign(
        message, ec.ECDSA(asym_utils.Prehashed(hash_type()))
    )
    return json.dumps(
        {
            "KeyId": key.arn,
            "Signature": base64.b64encode(signature).decode("ascii"),
            "SigningAlgorithm": algorithm,
        }
    )


KmsResponse.sign = kms_sign_as_documented
moto_kms_get_public_key = KmsResponse.get_public_key


def kms_get_public_key_with_key_spec(self):
    answer = json.loads(moto_kms_get_public_key(self))
    answer.setdefault("KeySpec", answer.get("CustomerMasterKeySpec"))
    return json.dumps(answer)


KmsResponse.get_public_key = kms_get_public_key_with_key_spec

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))

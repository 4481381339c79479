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

Usage: python3 moto_strict.py [moto_server arguments]
"""

import hashlib
import re
import sys

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

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))

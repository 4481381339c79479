data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  repositories = "arn:${data.aws_partition.current.partition}:ecr:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:repository/${var.repository_name_prefix}*"
  functions    = [for name in var.deployable_functions : "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:function:${name}"]
  parameters   = "arn:${data.aws_partition.current.partition}:ssm:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:parameter${var.ssm_parameter_path}/*"
}

resource "aws_iam_role" "this" {
  name                 = var.name
  assume_role_policy   = var.trust_policy_json
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

data "aws_iam_policy_document" "publish" {
  # ECR issues registry credentials per account: this action has no resource to scope to.
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  # Push (layers, manifests, the image index), look up what exists (skip a build whose inputs
  # are already pushed), and promote (BatchGetImage then PutImage with the same manifest).
  statement {
    sid = "PushAndPromote"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:InitiateLayerUpload",
      "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload",
      "ecr:PutImage",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [local.repositories]
  }

  # Record (and read back) the digest each environment runs.
  statement {
    sid       = "RecordDeployedDigests"
    actions   = ["ssm:PutParameter", "ssm:GetParameter", "ssm:GetParameters"]
    resources = [local.parameters]
  }
}

# Exactly what `lambda-gate deploy` calls, on the named functions (and their versions and
# aliases) only; nothing when no function is named.
data "aws_iam_policy_document" "deploy" {
  count = length(var.deployable_functions) == 0 ? 0 : 1

  statement {
    sid = "DeployFunctions"
    actions = [
      "lambda:GetFunction",
      "lambda:GetAlias",
      "lambda:UpdateFunctionCode",
      "lambda:PublishVersion",
      "lambda:InvokeFunction",
      "lambda:UpdateAlias",
      "lambda:CreateAlias",
      "lambda:GetProvisionedConcurrencyConfig",
    ]
    resources = concat(local.functions, [for arn in local.functions : "${arn}:*"])
  }

  # The image is read before it is deployed (the index, the platform manifest the function's
  # architecture picks, its config), from this account's repositories or another's.
  statement {
    sid       = "ReadDeployedImages"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = concat([local.repositories], var.deploy_image_repository_arns)
  }

  # Shifts are judged by the new version's own metrics under the alias and by the alarms the
  # team names; neither call can be scoped to resources.
  statement {
    sid       = "WatchAlarms"
    actions   = ["cloudwatch:DescribeAlarms", "cloudwatch:GetMetricStatistics"]
    resources = ["*"]
  }
}

# Attestations signed with KMS keys (`--sign-key awskms:KEY`) and verified by them
# (`attestation-key = "awskms:KEY"`): exactly the keys named; nothing when none is.
data "aws_iam_policy_document" "attest" {
  count = length(var.attestation_kms_key_arns) == 0 ? 0 : 1

  statement {
    sid       = "SignAndVerifyAttestations"
    actions   = ["kms:Sign", "kms:GetPublicKey"]
    resources = var.attestation_kms_key_arns
  }
}

# `lambda-gate fleet`: every function's aliases and the versions they serve, read-only, in the
# account this role lives in. Listing cannot be scoped to resources; the images are read through
# the statements above (this account's repositories). Nothing unless asked for.
data "aws_iam_policy_document" "fleet" {
  count = var.fleet_view ? 1 : 0

  statement {
    sid       = "ViewFleet"
    actions   = ["lambda:ListFunctions", "lambda:ListAliases", "lambda:GetFunction"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "fleet" {
  count  = var.fleet_view ? 1 : 0
  name   = "view-lambda-fleet"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.fleet[0].json
}

resource "aws_iam_role_policy" "attest" {
  count  = length(var.attestation_kms_key_arns) == 0 ? 0 : 1
  name   = "sign-attestations"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.attest[0].json
}

resource "aws_iam_role_policy" "deploy" {
  count  = length(var.deployable_functions) == 0 ? 0 : 1
  name   = "deploy-lambda-functions"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.deploy[0].json
}

resource "aws_iam_role_policy" "publish" {
  name   = "publish-lambda-images"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.publish.json
}

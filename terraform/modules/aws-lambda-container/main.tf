data "aws_partition" "current" {}

locals {
  # The tags the pipeline moves: `build` tags `test`; `promote` moves the others. Keep in step
  # with `moving-tags` in lambda-gate's policy (TF008 and TF016 check this module against it).
  moving_tags = ["test", "latest", "dev", "staging", "prod"]
  # The platforms `lambda-gate build` pushes, each tagged `<tag>-<arch>` beside the index.
  architectures = ["amd64", "arm64"]
}

# The repository the function's images are pushed to. Version and commit tags, and their
# platforms' `<tag>-<arch>` images, are immutable. A moving tag moves with its platforms'
# images (`dev`, `dev-amd64`, `dev-arm64`), so each needs one exclusion filter covering both,
# `dev*`: ECR matches a filter against the whole tag, so `dev` alone would leave `dev-amd64`
# immutable and the second promotion to dev would fail. ECR allows five filters: one per
# moving tag. (IMMUTABLE_WITH_EXCLUSION needs the AWS provider >= 6.8.)
resource "aws_ecr_repository" "this" {
  #checkov:skip=CKV_AWS_51:IMMUTABLE_WITH_EXCLUSION keeps every version and commit tag immutable; checkov only accepts the literal IMMUTABLE, which would forbid the pipeline's moving tags.
  name                 = var.name
  image_tag_mutability = "IMMUTABLE_WITH_EXCLUSION"

  dynamic "image_tag_mutability_exclusion_filter" {
    for_each = local.moving_tags
    content {
      filter      = "${image_tag_mutability_exclusion_filter.value}*"
      filter_type = "WILDCARD"
    }
  }

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

# Cross-account deploys (Lambda's "Amazon ECR permissions" for functions in other accounts):
# the consumer accounts may pull the images, and so may Lambda itself, but only for functions of
# those accounts (`aws:sourceArn`). The deployer role in the consumer account needs ECR read on
# this repository too (`lambda-publisher-role`'s `deploy_image_repository_arns`).
data "aws_iam_policy_document" "consumers" {
  count = length(var.consumer_account_ids) == 0 ? 0 : 1

  statement {
    sid     = "ConsumerAccountsPull"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    principals {
      type        = "AWS"
      identifiers = [for id in var.consumer_account_ids : "arn:${data.aws_partition.current.partition}:iam::${id}:root"]
    }
  }

  statement {
    sid     = "LambdaPullsForConsumerFunctions"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "aws:sourceArn"
      values   = [for id in var.consumer_account_ids : "arn:${data.aws_partition.current.partition}:lambda:*:${id}:function:*"]
    }
  }
}

resource "aws_ecr_repository_policy" "consumers" {
  count      = length(var.consumer_account_ids) == 0 ? 0 : 1
  repository = aws_ecr_repository.this.name
  policy     = data.aws_iam_policy_document.consumers[0].json
}

# ECR evaluates rules by priority; an image that matches the tag selection of a rule is never
# expired by a rule of lower priority; the entries of one rule's `tagPatternList` are AND-ed
# (an image must carry a tag for each), so every pattern has a rule of its own:
#  1-5. one per moving tag, `<tag>*`: what it points at and its platforms' images, never
#       expired (the count is never reached);
#  6-7. one per platform, `*-<arch>`: the platform images of the most recent builds;
#  8.   every other tagged image (the indexes of commit and version tags): as many as in 6-7,
#       so an index is never kept without its platforms' images, however the count of rule 8
#       treats the images rules 1-7 matched;
#  9.   untagged images after some days (the runner tags every image it pushes).
# `lambda-gate check` (TF016) evaluates this policy on 50 builds of the pipeline's own tags.
resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = concat(
      [for i, tag in local.moving_tags : {
        rulePriority = i + 1
        description  = "Keep what ${tag} points at, with its platforms' images"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["${tag}*"]
          countType      = "imageCountMoreThan"
          countNumber    = 9999
        }
        action = { type = "expire" }
      }],
      [for i, arch in local.architectures : {
        rulePriority = length(local.moving_tags) + i + 1
        description  = "Keep the ${arch} images of the most recent builds"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["*-${arch}"]
          countType      = "imageCountMoreThan"
          countNumber    = var.tagged_images_to_keep
        }
        action = { type = "expire" }
      }],
      [
        {
          rulePriority = length(local.moving_tags) + length(local.architectures) + 1
          description  = "Keep the most recent commit and version images"
          selection = {
            tagStatus      = "tagged"
            tagPatternList = ["*"]
            countType      = "imageCountMoreThan"
            countNumber    = var.tagged_images_to_keep
          }
          action = { type = "expire" }
        },
        {
          rulePriority = length(local.moving_tags) + length(local.architectures) + 2
          description  = "Expire untagged images"
          selection = {
            tagStatus   = "untagged"
            countType   = "sinceImagePushed"
            countUnit   = "days"
            countNumber = var.untagged_image_expiry_days
          }
          action = { type = "expire" }
        },
      ],
    )
  })
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-lambda"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

# Only what the function itself needs: its own log group and X-Ray.
data "aws_iam_policy_document" "runtime" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
  statement {
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
  dynamic "statement" {
    for_each = var.dead_letter_target_arn == null ? [] : [var.dead_letter_target_arn]
    content {
      actions   = [strcontains(statement.value, ":sqs:") ? "sqs:SendMessage" : "sns:Publish"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "runtime" {
  name   = "runtime"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.runtime.json
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:CloudWatch encrypts every log group at rest; a customer-managed key is an input (log_kms_key_arn) because its key policy must first grant CloudWatch Logs.
  #checkov:skip=CKV_AWS_338:Retention is an input (log_retention_days, 30 by default, never 0): a year of application logs is the team's choice per function, not a default.
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_272:Lambda code signing applies to .zip packages only; container images are pinned by digest instead (lambda-gate TF003).
  #checkov:skip=CKV_AWS_117:Only functions that reach private resources belong in a VPC; this module deploys functions that call public AWS endpoints.
  #checkov:skip=CKV_AWS_116:A dead-letter queue applies to asynchronous invocations; it is an input (dead_letter_target_arn) for functions invoked that way.
  #checkov:skip=CKV_AWS_173:Lambda encrypts environment variables at rest with an AWS-managed key; the environment holds no secrets (see var.environment), which are read from SSM or Secrets Manager.
  function_name = var.name
  role          = aws_iam_role.this.arn
  package_type  = "Image"
  image_uri     = var.image_uri
  # Version 1 is published at creation, so the alias below has a version to serve.
  publish                        = true
  architectures                  = [var.architecture]
  timeout                        = var.timeout
  memory_size                    = var.memory_size
  reserved_concurrent_executions = var.reserved_concurrency == null ? -1 : var.reserved_concurrency

  tracing_config {
    mode = "Active"
  }

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_target_arn == null ? [] : [var.dead_letter_target_arn]
    content {
      target_arn = dead_letter_config.value
    }
  }

  environment {
    variables = var.environment
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.runtime]

  # `lambda-gate deploy` owns the code after creation (it updates the function by digest and
  # moves the alias): Terraform keeps the configuration, and a later `apply` never reverts a
  # deploy. Trade-off: var.image_uri only sets the first image; a configuration change applied
  # here reaches the alias with the next deploy (of a new image or the same one), which
  # publishes a version with it.
  lifecycle {
    ignore_changes = [image_uri, publish]
  }
}

# The alias callers invoke; `lambda-gate deploy` moves it (at once or as a canary).
resource "aws_lambda_alias" "live" {
  name             = var.alias_name
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version

  lifecycle {
    ignore_changes = [function_version, routing_config]
  }
}

locals {
  alarm_actions = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  alarms = {
    errors = {
      metric    = "Errors"
      statistic = "Sum"
      threshold = 0
      help      = "The function returned errors."
    }
    throttles = {
      metric    = "Throttles"
      statistic = "Sum"
      threshold = 0
      help      = "Invocations were throttled."
    }
    duration = {
      metric    = "Duration"
      statistic = "Maximum"
      threshold = var.timeout * 1000 * 0.9
      help      = "An invocation ran for more than 90% of the timeout."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = var.alarms_enabled ? local.alarms : {}

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.help
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

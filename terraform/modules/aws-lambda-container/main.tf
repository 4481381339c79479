data "aws_partition" "current" {}

locals {
  # The tags the pipeline moves: `build` tags `test`; `promote` moves the others. They are the
  # only tags excluded from immutability, and the lifecycle policy never expires what they
  # point at. Keep in step with `moving-tags` in lambda-gate's policy.
  moving_tags = ["test", "latest", "dev", "staging", "prod"]
}

# The repository the function's images are pushed to. Version and commit tags are immutable;
# the moving tags are excluded from immutability (IMMUTABLE_WITH_EXCLUSION, AWS provider
# >= 6.8) so they can move.
resource "aws_ecr_repository" "this" {
  #checkov:skip=CKV_AWS_51:IMMUTABLE_WITH_EXCLUSION keeps every version and commit tag immutable; checkov only accepts the literal IMMUTABLE, which would forbid the pipeline's moving tags.
  name                 = var.name
  image_tag_mutability = "IMMUTABLE_WITH_EXCLUSION"

  dynamic "image_tag_mutability_exclusion_filter" {
    for_each = local.moving_tags
    content {
      filter      = image_tag_mutability_exclusion_filter.value
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

# ECR applies rules by priority, and an image that matches the tag selection of a rule can
# never be expired by a rule of lower priority. So:
#  1. whatever a moving tag points at (and its per-architecture images, tagged `<tag>-<arch>`
#     by `lambda-gate build`) matches the first rule, whose count is never reached;
#  2. version and commit tags (`v*`, `sha-*`, with their `-<arch>` children) are kept up to a
#     count of images: an index and its children are pushed together, so they age together;
#  3. untagged images expire after some days. The runner tags every per-architecture image,
#     so a child an index still references is never untagged.
resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Keep what the moving tags point at"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = [for tag in local.moving_tags : "${tag}*"]
          countType      = "imageCountMoreThan"
          countNumber    = 9999
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the most recent version and commit images"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["v*", "sha-*"]
          countType      = "imageCountMoreThan"
          countNumber    = var.tagged_images_to_keep
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Expire untagged images"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_image_expiry_days
        }
        action = { type = "expire" }
      },
    ]
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
  # here reaches the alias with the next deploy, which publishes a version with it.
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

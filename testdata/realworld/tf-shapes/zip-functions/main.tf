terraform {
  required_version = ">= 1.6.0, < 2.0.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80.0, < 6.0.0"
    }
  }
  backend "s3" {}
}

provider "aws" {
  region = "eu-west-1"
}

variable "ecr_alarms" {
  description = "Opt-in alarms on the image repository's pulls."
  type        = map(number)
  default     = {}
}

resource "aws_lambda_function" "cron" {
  function_name    = "nightly-report"
  filename         = "build/report.zip"
  source_code_hash = filebase64sha256("build/report.zip")
  handler          = "report.handler"
  runtime          = "python3.12"
  role             = "arn:aws:iam::123456789012:role/report"
  tracing_config {
    mode = "Active"
  }
}

resource "aws_cloudwatch_log_group" "cron" {
  name              = "/aws/lambda/nightly-report"
  retention_in_days = 30
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "nightly-report-errors"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.cron.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
}

resource "aws_cloudwatch_metric_alarm" "ecr_pulls" {
  for_each            = var.ecr_alarms
  alarm_name          = "ecr-${each.key}"
  namespace           = "AWS/ECR"
  metric_name         = "RepositoryPullCount"
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = each.value
  comparison_operator = "GreaterThanThreshold"
  actions_enabled     = false
}

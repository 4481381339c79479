resource "aws_ecr_repository" "app" {
  name                 = "quote"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

resource "aws_ecr_lifecycle_policy" "app" {
  repository = aws_ecr_repository.app.name
  policy     = file("${path.module}/lifecycle.json")
}

variable "memory" {
  type        = number
  description = "Memory of the function, in MB."
  default     = 256
}

resource "aws_cloudwatch_log_group" "app" {
  name              = "/aws/lambda/quote"
  retention_in_days = 30
}

resource "aws_lambda_function" "app" {
  function_name = "quote"
  role          = "arn:aws:iam::123456789012:role/quote"
  package_type  = "Image"
  image_uri     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/quote@sha256:4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f"
  architectures = ["arm64"]
  memory_size   = var.memory

  tracing_config {
    mode = "Active"
  }
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "quote-errors"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  dimensions = {
    FunctionName = "quote-old"
    FunctionName = aws_lambda_function.app.function_name
  }
}

resource "aws_ecr_repository" "r" {
  name = "r"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
}
resource "aws_lambda_function" "f" {
  function_name = "f"
  role          = "arn:aws:iam::123456789012:role/x"
  package_type  = "Image"
  image_uri     = "r.example/x@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  architectures = ["arm64"]
  tracing_config {
    mode = "Active"
  }
}
resource "aws_cloudwatch_log_group" "g" {
  name = "/aws/lambda/g"
  retention_in_days = 90
}

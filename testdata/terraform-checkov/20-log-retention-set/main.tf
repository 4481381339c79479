resource "aws_cloudwatch_log_group" "g" {
  name = "/aws/lambda/g"
  retention_in_days = 30
}

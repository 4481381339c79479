variable "days" {
  type        = number
  description = "Retention."
  default     = 14
}
resource "aws_cloudwatch_log_group" "g" {
  name = "/aws/lambda/g"
  retention_in_days = var.days
}

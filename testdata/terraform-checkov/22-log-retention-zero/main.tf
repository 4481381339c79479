# differs: CKV_AWS_66 aws_cloudwatch_log_group.g: 0 means never expire; checkov only asks that the attribute is present
resource "aws_cloudwatch_log_group" "g" {
  name = "/aws/lambda/g"
  retention_in_days = 0
}

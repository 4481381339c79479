resource "aws_ssm_parameter" "stage" {
  name  = "/orders/stage"
  type  = "String"
  value = "prod"
}

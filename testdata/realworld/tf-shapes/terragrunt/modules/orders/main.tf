terraform {
  required_version = ">= 1.6.0"
}

resource "aws_ssm_parameter" "queue" {
  name  = "/orders/queue"
  type  = "String"
  value = "orders"
}

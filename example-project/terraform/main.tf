terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80.0, < 7.0.0"
    }
  }
}

variable "image_digest" {
  type        = string
  description = "Digest of the arm64 image to deploy (from `lambda-gate build --format json`, or the environment's SSM parameter)."
}

variable "alarm_sns_topic_arn" {
  type        = string
  description = "SNS topic for the function's alarms."
  default     = null
}

module "quote" {
  source = "../../terraform/modules/aws-lambda-container"

  name                = "example-quote"
  image_uri           = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/example-quote@${var.image_digest}"
  architecture        = "arm64"
  timeout             = 10
  memory_size         = 256
  alarm_sns_topic_arn = var.alarm_sns_topic_arn
  environment = {
    VAT_RATE           = "0.20"
    DISCOUNT_THRESHOLD = "100"
  }
}

output "function_name" {
  description = "Name of the deployed function."
  value       = module.quote.function_name
}

terraform {
  # A root module: it keeps its state in S3, so `terraform plan` runs here.
  backend "s3" {}

  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.8.0"
    }
  }
}

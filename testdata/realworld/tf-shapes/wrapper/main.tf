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

module "orders" {
  source    = "./modules/lambda"
  name      = "orders"
  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders@sha256:0e54c71614c181dba589a9d58c74c6e7ce4fa65b81f620733248b6a4b7b0b555"
}

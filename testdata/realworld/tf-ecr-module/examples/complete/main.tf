provider "aws" {
  region = "eu-west-1"
}

module "ecr" {
  source = "../.."

  repository_name                 = "quote"
  repository_image_tag_mutability = "IMMUTABLE"
  repository_lifecycle_policy     = jsonencode({ rules = [] })
}

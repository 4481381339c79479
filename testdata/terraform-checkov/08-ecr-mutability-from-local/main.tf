locals {
  mutability = "MUTABLE"
}
resource "aws_ecr_repository" "r" {
  name = "r"
  image_tag_mutability = local.mutability
  image_scanning_configuration {
    scan_on_push = true
  }
}

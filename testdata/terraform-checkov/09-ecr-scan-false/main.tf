resource "aws_ecr_repository" "r" {
  name = "r"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = false
  }
}

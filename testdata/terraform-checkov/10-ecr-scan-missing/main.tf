resource "aws_ecr_repository" "r" {
  name = "r"
  image_tag_mutability = "IMMUTABLE"
}

resource "aws_ecr_repository" "good" {
  name = "good"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
}
resource "aws_ecr_repository" "bad" {
  name = "bad"
}

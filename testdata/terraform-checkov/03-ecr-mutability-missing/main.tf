resource "aws_ecr_repository" "r" {
  name = "r"
  image_scanning_configuration {
    scan_on_push = true
  }
}

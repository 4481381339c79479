variable "mutability" {
  type        = string
  description = "Tag mutability."
  default     = "IMMUTABLE"
}
resource "aws_ecr_repository" "r" {
  name = "r"
  image_tag_mutability = var.mutability
  image_scanning_configuration {
    scan_on_push = true
  }
}

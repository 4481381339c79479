resource "aws_ecr_repository" "app" {
  name                 = "quote"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

locals {
  moving_tags = ["test", "latest", "dev", "staging", "prod"]
}

resource "aws_ecr_lifecycle_policy" "app" {
  repository = aws_ecr_repository.app.name
  policy = jsonencode({
    rules = concat(
      [for i, tag in local.moving_tags : {
        rulePriority = i + 1
        description  = "Keep what ${tag} points at"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["${tag}*"]
          countType      = "imageCountMoreThan"
          countNumber    = 9999
        }
        action = { type = "expire" }
      }],
      [{
        rulePriority = 10
        description  = "Keep the last 30 builds"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = 90
        }
        action = { type = "expire" }
      }],
    )
  })
}

resource "aws_ecr_repository" "app" {
  name                 = "quote"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

# Meant as "keep anything a moving tag points at, and the last 30 builds": the patterns of one
# rule are AND-ed, so rule 1 keeps nothing and rule 2 selects nothing.
resource "aws_ecr_lifecycle_policy" "app" {
  repository = aws_ecr_repository.app.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Keep what the moving tags point at"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["test*", "latest*", "dev*", "staging*", "prod*"]
          countType      = "imageCountMoreThan"
          countNumber    = 9999
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the last builds"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = 30
        }
        action = { type = "expire" }
      },
    ]
  })
}

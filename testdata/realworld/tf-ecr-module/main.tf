# A reusable ECR module in the shape of the community ones: one repository, optional scanning
# and lifecycle policy, settings through variables that default to null.

resource "aws_ecr_repository" "this" {
  count = var.create ? 1 : 0

  name                 = var.repository_name
  image_tag_mutability = var.repository_image_tag_mutability
  force_delete         = var.repository_force_delete

  dynamic "image_scanning_configuration" {
    for_each = var.repository_image_scan_on_push == null ? [] : [var.repository_image_scan_on_push]

    content {
      scan_on_push = image_scanning_configuration.value
    }
  }

  tags = merge(var.tags, { "Name" = var.repository_name, "Name" = "${var.repository_name}-ecr" })
}

resource "aws_ecr_lifecycle_policy" "this" {
  count = var.create && var.create_lifecycle_policy ? 1 : 0

  repository = aws_ecr_repository.this[0].name
  policy     = var.repository_lifecycle_policy
}

resource "aws_cloudwatch_log_group" "scan" {
  count = var.create ? 1 : 0

  name              = "/aws/ecr/${var.repository_name}/scan"
  retention_in_days = var.scan_log_retention_in_days
}

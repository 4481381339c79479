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

# Where checkov, run over this repository, judges the module as `examples/complete` calls it:
# differs: CKV_AWS_51 module.ecr.aws_ecr_repository.this[0]: checkov judges only the example's call (IMMUTABLE); lambda-gate judges the module's own default, MUTABLE, which every caller that leaves the variable out gets
# differs: CKV_AWS_163 module.ecr.aws_ecr_repository.this[0]: checkov does not expand the dynamic image_scanning_configuration block; lambda-gate evaluates its for_each over the default (true) and sees scan_on_push = true
# differs: CKV_AWS_66 module.ecr.aws_cloudwatch_log_group.scan[0]: checkov passes retention_in_days written as a variable whose default is null; Terraform omits a null argument, so the log group keeps its logs forever

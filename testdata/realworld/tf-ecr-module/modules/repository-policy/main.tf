resource "aws_ecr_repository_policy" "this" {
  repository = var.repository
  policy     = var.policy
}

variable "repository" {
  description = "The repository the policy applies to."
  type        = string
}

variable "policy" {
  description = "The policy document."
  type        = string
}

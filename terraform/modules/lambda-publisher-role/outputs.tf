output "role_arn" {
  description = "ARN of the role the pipeline assumes (Jenkins: `withAWS(role: ...)` or `AWS_ROLE_ARN`)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the role."
  value       = aws_iam_role.this.name
}

output "policy_json" {
  description = "The role's inline policy, for review."
  value       = data.aws_iam_policy_document.publish.json
}

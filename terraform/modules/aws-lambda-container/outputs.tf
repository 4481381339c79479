output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "repository_url" {
  description = "URL of the ECR repository the function's images are pushed to."
  value       = aws_ecr_repository.this.repository_url
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "alias_name" {
  description = "The alias `lambda-gate deploy` moves (`[deploy.environments.<name>] alias`)."
  value       = aws_lambda_alias.live.name
}

output "alias_arn" {
  description = "ARN of the alias: what callers and event sources should invoke."
  value       = aws_lambda_alias.live.arn
}

output "alarm_names" {
  description = "The function's CloudWatch alarms, over every version, for operations. A deploy judges its new version by that version's own metrics; pass an alarm with --alarm only if it should also stop a shift."
  value       = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_name]
}

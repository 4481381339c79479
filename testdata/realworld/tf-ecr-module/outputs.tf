output "repository_name" {
  description = "The repository's name."
  value       = try(aws_ecr_repository.this[0].name, null)
}

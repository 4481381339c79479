variable "create" {
  description = "Whether to create the repository."
  type        = bool
  default     = true
}

variable "repository_name" {
  description = "The repository's name."
  type        = string
  default     = ""
}

variable "repository_image_tag_mutability" {
  description = "MUTABLE or IMMUTABLE."
  type        = string
  default     = "MUTABLE"
}

variable "repository_force_delete" {
  description = "Delete the repository even if it holds images."
  type        = bool
  default     = null
}

variable "repository_image_scan_on_push" {
  description = "Scan images on push; null leaves scanning unconfigured."
  type        = bool
  default     = true
}

variable "create_lifecycle_policy" {
  description = "Whether to create a lifecycle policy."
  type        = bool
  default     = true
}

variable "repository_lifecycle_policy" {
  description = "The lifecycle policy document."
  type        = string
  default     = ""
}

variable "scan_log_retention_in_days" {
  description = "Days the scan logs are kept; null keeps them forever."
  type        = number
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "name" {
  type        = string
  description = "Name of the Lambda function; also names its ECR repository, role, log group and alarms."
}

variable "image_uri" {
  type        = string
  description = "Image the function runs, by digest: <repository>@sha256:<digest> of the single-platform image for var.architecture."

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image_uri))
    error_message = "image_uri must reference the image by digest (…@sha256:<64 hex digits>), never by a moving tag."
  }
}

variable "architecture" {
  type        = string
  description = "Instruction set the image was built for: x86_64 or arm64."
  default     = "arm64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "timeout" {
  type        = number
  description = "Function timeout in seconds."
  default     = 30
}

variable "memory_size" {
  type        = number
  description = "Memory in MB."
  default     = 512
}

variable "reserved_concurrency" {
  type        = number
  description = "Reserved concurrent executions; null leaves the function unreserved."
  default     = null
}

variable "environment" {
  type        = map(string)
  description = "Environment variables of the function (no secrets: read those from SSM or Secrets Manager at run time)."
  default     = {}
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the function's logs."
  default     = 30
}

variable "alarms_enabled" {
  type        = bool
  description = "Create the default CloudWatch alarms (errors, throttles, duration near the timeout)."
  default     = true
}

variable "alarm_sns_topic_arn" {
  type        = string
  description = "SNS topic the alarms notify; null creates the alarms without actions."
  default     = null
}

variable "untagged_image_expiry_days" {
  type        = number
  description = "Days after which untagged images are expired from the repository."
  default     = 14
}

variable "tagged_images_to_keep" {
  type        = number
  description = "How many builds the repository keeps besides what the moving tags point at: the platform images (`<tag>-<arch>`) of the last this-many builds of each architecture, and at most this many indexes (commit and version tags)."
  default     = 50
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key that encrypts the repository's images; null uses the AWS-managed ECR key."
  default     = null
}

variable "log_kms_key_arn" {
  type        = string
  description = "Customer-managed KMS key for the log group (its key policy must allow CloudWatch Logs); null uses CloudWatch's own encryption."
  default     = null
}

variable "dead_letter_target_arn" {
  type        = string
  description = "SQS queue or SNS topic for events of asynchronous invocations that failed every retry; null sets none."
  default     = null
}

variable "alias_name" {
  type        = string
  default     = "live"
  description = "The alias callers invoke and `lambda-gate deploy --alias` moves."
}

variable "consumer_account_ids" {
  type        = list(string)
  default     = []
  description = "Accounts whose Lambda functions run this repository's images (a prod account deploying what this account built). The repository policy lets those accounts and Lambda on their behalf pull the images; none by default."

  validation {
    condition     = alltrue([for id in var.consumer_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "consumer_account_ids must be 12-digit AWS account IDs."
  }
}

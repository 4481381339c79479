variable "name" {
  type        = string
  description = "Name of the role the pipeline (Jenkins) assumes to push and promote Lambda images."
}

variable "trust_policy_json" {
  type        = string
  description = "Assume-role (trust) policy: who may assume the role, e.g. the Jenkins agents' instance role or an OIDC provider, with their conditions."
}

variable "repository_name_prefix" {
  type        = string
  description = "The role may push and promote only in ECR repositories whose name starts with this prefix."
  default     = "lambda-"

  validation {
    condition     = length(var.repository_name_prefix) > 0 && !strcontains(var.repository_name_prefix, "*")
    error_message = "repository_name_prefix must be a non-empty literal prefix (no wildcards)."
  }
}

variable "ssm_parameter_path" {
  type        = string
  description = "Path under which the role records each environment's deployed digest: `promote --record-ssm <path>/<name>/<environment>` and buildLambda's `ssmPrefix: '<path>/<name>'` write `<path>/<name>/<environment>/<architecture>`."
  default     = "/lambda"

  validation {
    condition     = can(regex("^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.ssm_parameter_path))
    error_message = "ssm_parameter_path must be an absolute SSM path without a trailing slash, e.g. /lambda."
  }
}

variable "max_session_duration" {
  type        = number
  description = "Longest session, in seconds, a pipeline run may hold the role."
  default     = 3600
}

variable "permissions_boundary_arn" {
  type        = string
  description = "Permissions boundary for the role; null sets none."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags added to the role."
  default     = {}
}

variable "deployable_functions" {
  type        = list(string)
  default     = []
  description = "Names of the functions `lambda-gate deploy` may update, publish, invoke and move the alias of (none by default)."
}

variable "deploy_image_repository_arns" {
  type        = list(string)
  default     = []
  description = "ECR repositories (ARNs) in other accounts whose images `lambda-gate deploy` deploys from this account: the role reads their manifests and config to pick each function's image (their repository policy must let this account pull: `aws-lambda-container`'s `consumer_account_ids`). This account's repositories under `repository_name_prefix` are always readable."
}

variable "attestation_kms_key_arns" {
  type        = list(string)
  default     = []
  description = "KMS keys (ARNs; asymmetric ECC_NIST_P256, SIGN_VERIFY) the role signs attestations with (`--sign-key awskms:KEY`: kms:Sign) and checks them by (`attestation-key = \"awskms:KEY\"`: kms:GetPublicKey). None by default."
}

variable "fleet_view" {
  type        = bool
  default     = false
  description = "Let the role list every function of its account, its aliases and the versions they serve, for `lambda-gate fleet` (lambda:ListFunctions, lambda:ListAliases, lambda:GetFunction on all functions: read-only). Off by default."
}

# differs: CKV_AWS_51 aws_ecr_repository.r: IMMUTABLE_WITH_EXCLUSION keeps every version tag immutable; checkov compares with the literal IMMUTABLE
resource "aws_ecr_repository" "r" {
  name = "r"
  image_tag_mutability = "IMMUTABLE_WITH_EXCLUSION"
  image_tag_mutability_exclusion_filter {
    filter      = "latest*"
    filter_type = "WILDCARD"
  }
  image_tag_mutability_exclusion_filter {
    filter      = "test*"
    filter_type = "WILDCARD"
  }
  image_scanning_configuration {
    scan_on_push = true
  }
}

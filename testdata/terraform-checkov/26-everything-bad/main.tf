resource "aws_ecr_repository" "r" {
  name = "r"
}
resource "aws_lambda_function" "f" {
  function_name = "f"
  role          = "arn:aws:iam::123456789012:role/x"
  package_type  = "Image"
  image_uri     = "r.example/x@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  architectures = ["arm64"]
}
resource "aws_cloudwatch_log_group" "g" {
  name = "/aws/lambda/g"
}

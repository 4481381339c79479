variable "trace" {
  type        = bool
  description = "Trace."
  default     = true
}
resource "aws_lambda_function" "f" {
  function_name = "f"
  role          = "arn:aws:iam::123456789012:role/x"
  package_type  = "Image"
  image_uri     = "r.example/x@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  architectures = ["arm64"]
  tracing_config {
    mode = var.trace ? "Active" : "PassThrough"
  }
}

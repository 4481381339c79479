variable "ingest_image" {
  description = "The ingest image, built and pushed by the ingest pipeline."
  type        = string
}

resource "aws_lambda_function" "ingest" {
  function_name = "ingest"
  role          = "arn:aws:iam::123456789012:role/ingest"
  package_type  = "Image"
  image_uri     = var.ingest_image
  architectures = ["arm64"]

  image_config {
    command = ["ingest.handler"]
  }

  tracing_config {
    mode = "Active"
  }
}

module "quote" {
  source       = "git::https://git.example.com/platform/lambda-gate.git//terraform/modules/aws-lambda-container?ref=main"
  name         = "quote"
  image_uri    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/quote@sha256:4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f"
  architecture = "arm64"
}

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
    docker = {
      source  = "kreuzwerker/docker"
      version = "~> 3.0"
    }
  }
}

resource "docker_image" "report" {
  name = "report"
  build {
    context = "${path.module}/../lambda"
  }
}

resource "docker_registry_image" "report" {
  name = docker_image.report.name
}

resource "aws_lambda_function" "report" {
  function_name = "report"
  role          = "arn:aws:iam::123456789012:role/report"
  package_type  = "Image"
  image_uri     = docker_registry_image.report.name
  architectures = ["arm64"]

  image_config {
    command = ["app.main.handler"]
  }

  tracing_config {
    mode = "Active"
  }
}

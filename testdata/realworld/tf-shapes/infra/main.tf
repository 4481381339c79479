terraform {
  required_version = ">= 1.6.0, < 2.0.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80.0, < 6.0.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

variable "reporting_password" {
  description = "Password of the read-only reporting user."
  type        = string
  sensitive   = true
}

resource "aws_db_instance" "orders" {
  identifier        = "orders"
  engine            = "postgres"
  instance_class    = "db.t4g.micro"
  allocated_storage = 20
  username          = "orders"
  password          = "Orders-Prod-2024!"
}

resource "aws_db_instance" "reporting" {
  identifier                  = "reporting"
  engine                      = "postgres"
  instance_class              = "db.t4g.micro"
  allocated_storage           = 20
  username                    = "reporting"
  manage_master_user_password = true
}

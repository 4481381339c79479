terraform {
  backend "s3" {
    bucket       = "orders-terraform-state"
    key          = "orders/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}

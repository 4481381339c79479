"""example-project: prices an order and answers through API Gateway."""

"""WooCommerce's webhooks."""

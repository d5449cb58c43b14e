"""Store platforms' webhooks (Shopify, WooCommerce): one delivery pipeline, one mapping per platform."""

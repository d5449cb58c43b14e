"""Shopify's webhooks."""

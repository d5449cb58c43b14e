"""The NDJSON bulk import of a store's customers, orders and cases."""

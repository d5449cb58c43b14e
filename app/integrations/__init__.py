"""Integration status: is each telephony provider, store platform and the store sync API reaching
the service, and if not, why not (`GET /api/v1/status`, the console's Integrations view,
`ringcard doctor`)."""

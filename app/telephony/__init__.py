"""The telephony providers' and PBXs' webhooks: they hand the call core a normalised caller and line."""

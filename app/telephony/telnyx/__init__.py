"""Telnyx Call Control: signed call events."""

"""Twilio Programmable Voice: signed webhooks, TwiML, leg callbacks."""

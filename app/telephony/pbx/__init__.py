"""PBX integrations: lookups and call events from Asterisk, FreeSWITCH, FreePBX and 3CX."""

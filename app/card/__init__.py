"""Who is calling and what the agent should know: matching a number to customers and building the card."""

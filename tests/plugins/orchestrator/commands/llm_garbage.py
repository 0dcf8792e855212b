"""A fake LLM command that answers with prose instead of JSON."""

print("I'm sorry, but I can't produce a plan for this document right now.")

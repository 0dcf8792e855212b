"""A fake LLM command that fails: a message on stderr and exit status 3."""

import sys

print("error: rate limit exceeded, try again in 60 s", file=sys.stderr)
sys.exit(3)

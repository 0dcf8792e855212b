"""The environment git runs with, for the kernel's own git call and every plugin's.

Every ``GIT_*`` variable of the server's environment is dropped (``GIT_DIR``, ``GIT_WORK_TREE``,
``GIT_INDEX_FILE``, ``GIT_CONFIG_PARAMETERS``... are set when the server is started from a git
hook, and would point git at another repository or inject settings), except those that say
which config files to read, who commits and how to reach a remote. Prompts are off, messages
are in English (so they can be recognised) and optional locks are off (a ``git status`` never
takes the index lock the crosslink CLI may want).
"""

from __future__ import annotations

import os

#: ``GIT_*`` variables kept from the server's environment: which config files git reads, the
#: identity commits are made with, how to reach remotes; nothing that names a repository.
KEPT_GIT_VARIABLES = frozenset({
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_SSH_VARIANT",
    "GIT_PROXY_COMMAND",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
    "GIT_SSL_CERT",
    "GIT_SSL_KEY",
    "GIT_SSL_NO_VERIFY",
})
#: Other variables that would make git (or ssh) ask someone for something.
DROPPED_VARIABLES = frozenset({"SSH_ASKPASS", "DISPLAY_ASKPASS"})
FIXED_VARIABLES = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
    "SSH_ASKPASS_REQUIRE": "never",
    "LC_ALL": "C",
    "LANGUAGE": "C",
}


def git_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every git command runs with (see the module docstring)."""
    source = os.environ if base is None else base
    env = {
        key: value
        for key, value in source.items()
        if (not key.startswith("GIT_") or key in KEPT_GIT_VARIABLES) and key not in DROPPED_VARIABLES
    }
    env.update(FIXED_VARIABLES)
    return env

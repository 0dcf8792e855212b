"""werkzeug's URL builders, compiled once per rule shape in a test process instead of per app.

Each ``create_app`` adds every route's URL rule to a new werkzeug ``Map``, and binding a rule
compiles two small Python functions for ``url_for`` (``Rule._compile_builder``: an AST put
through ``compile()``). That is most of ``create_app``'s time, and the suite creates an app for
almost every test. The function compiled is a pure function of what the memo's key holds (the
rule's text, its parsed parts, its defaults and the ``append_unknown`` flag; the rule itself
is passed to it as an argument), so the same function serves every app: URLs come out the same.

A werkzeug whose ``Rule`` no longer has that method is left as it is (the suite is only slower).
"""

from __future__ import annotations

from typing import Any


def memoize_url_builders() -> None:
    """Install the memo on ``werkzeug.routing.Rule`` (once; a second call does nothing)."""
    from werkzeug.routing import Rule

    original = getattr(Rule, "_compile_builder", None)
    if original is None or getattr(original, "memoized", False):
        return
    compiled: dict[tuple, Any] = {}

    def compile_builder(self: Rule, append_unknown: bool = True) -> Any:
        defaults = tuple(sorted((key, repr(value)) for key, value in (self.defaults or {}).items()))
        key = (self.rule, tuple(self._trace), defaults, append_unknown)
        builder = compiled.get(key)
        if builder is None:
            builder = compiled[key] = original(self, append_unknown)
        return builder

    compile_builder.memoized = True  # type: ignore[attr-defined]
    Rule._compile_builder = compile_builder  # type: ignore[method-assign]

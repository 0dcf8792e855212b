"""The issues plugin: issues, comments, labels, dependencies (blockers) and milestones.

It owns the contract's Issues, Comments, Labels, Dependencies and Milestones routes, the
``issue_updated`` event on the ``issues`` channel, the ``issues`` service other plugins call
(:mod:`plugins.issues.contract`), issue search (``GET /issues?search=`` and the unified
``GET /search``), and the server's search index over the crosslink CLI's tables. Data lives in
the CLI's own tables (``issues``, ``comments``, ``labels``, ``dependencies``, ``milestones``,
``milestone_issues``), so the CLI and the server see the same issues.
"""

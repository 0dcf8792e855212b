"""The ``sessions`` plugin: agent work sessions with handoff notes, on the crosslink CLI's
``sessions`` table. See README.md."""

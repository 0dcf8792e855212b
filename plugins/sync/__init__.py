"""The sync plugin: the crosslink hub over real git (status, fetch, push, init, auto-sync)."""

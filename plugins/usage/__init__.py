"""The usage plugin: token usage and cost per agent on the crosslink CLI's ``token_usage``
table, rollups that keep summaries fast, a price table and budgets that warn."""

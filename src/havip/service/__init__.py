"""Use cases of havip over ports (repositories, unit of work, clock).

The service layer orchestrates: it loads domain objects through the unit of work,
asks the domain's rules, and commits. It performs no I/O of its own and knows no
transport (HTTP, CLI) and no engine (SQLite, PostgreSQL).
"""

"""Helpers for tests, benchmarks and plug-in authors: small generated tasks that run in milliseconds."""

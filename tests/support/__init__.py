"""Helpers the test suites share: the real servers and the stack, started per test."""

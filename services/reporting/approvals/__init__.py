"""Approved periods (SPEC 3.9): a province or admin approves a scope's figures for a
period; the approval is a period-approved event on EVENTS, read back into reporting's
approvals table, and late events for the period are counted against it."""

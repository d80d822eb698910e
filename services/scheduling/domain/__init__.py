"""Scheduling's rules as plain Python, without I/O: recurrence, assignment, closing and
overdue, staff-dispatch pace."""

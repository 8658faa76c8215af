"""What people see: boards as text, figures (matplotlib), the progress line.

Above the rules, below everything that reports: no torch, no game records.
"""

"""Monitoring: drift statistics over live traffic (inference logs) against a reference window."""

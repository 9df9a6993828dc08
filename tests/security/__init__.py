"""Attacks and abuse from outside: each module one class of it (issue 13)."""

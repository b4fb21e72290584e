"""Helpers shared by every component (input checks, Hub-code export)."""

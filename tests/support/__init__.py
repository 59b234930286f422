"""Helpers shared by test packages (image builders, factories)."""

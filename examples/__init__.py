"""Runnable example apps for taskworker."""

"""Readers and writers of source formats: the only place where paths appear."""

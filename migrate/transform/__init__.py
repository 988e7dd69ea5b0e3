"""Vectorised field rules: each step works on a whole chunk column, never row by row."""

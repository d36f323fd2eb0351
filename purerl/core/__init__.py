"""Pieces written once and shared by every algorithm."""

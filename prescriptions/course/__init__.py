"""The course of treatment: its regimen, its states and transitions, its alerts."""

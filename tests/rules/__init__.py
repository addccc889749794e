"""Tests of the methodology steps (indexcalc.rules)."""

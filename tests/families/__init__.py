"""Tests of the index families (indexcalc.families)."""

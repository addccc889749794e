"""Methodology steps: each module one rule of DESIGN.md, pure functions from frames to frames."""

"""Methodology steps: each module one rule of docs/design.md, pure functions from frames to frames."""

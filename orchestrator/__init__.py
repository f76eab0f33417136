"""Launches sandboxes for validated evaluations: `local` (bubblewrap) and `kubernetes`."""

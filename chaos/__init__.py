"""Fault injection on the real local-process stack (``make chaos``, issue 8): see README "Faults"."""

"""Point-to-point transport (点对点接送, 就业直通车): buses from the seekers' home counties to a
workplace, planned with OR-Tools (``planner.py``), offered to officials by campaign (``api.py``)."""

"""``make eval``: the matcher's recommendation quality in a seeded simulated campaign.

It lives beside the services, not inside match, because it is a tool about the service rather
than part of it: the production image (``Dockerfile`` copies ``services/`` and ``shared/``)
does not carry the simulator, and nothing in ``services/`` may import from here.
"""

"""Order-style service (点单式服务): an enterprise files an order for workers, an official
dispatches it to a human-resources agency, the agency accepts (or declines) and reports whom it
placed until the order is fulfilled. The steps are a small state machine (``steps.py``); the
orders live in campaign's database (``orders``), each step recorded with who took it and when."""

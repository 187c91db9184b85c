"""``python -m services.demo [ingest-url]``: load the demo data set into a running stack."""

from __future__ import annotations

import asyncio
import sys

from services.demo.load import load_demo, print_where_to_look

if __name__ == "__main__":
    asyncio.run(load_demo(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8001"))
    print_where_to_look()

"""Local stand-ins of the four retail APIs, all serving one seeded retail world (see `world.py`)."""

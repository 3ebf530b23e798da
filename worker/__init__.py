"""Process wiring. Kept import-free so `python3 -m worker.dev` can bootstrap with the system Python."""

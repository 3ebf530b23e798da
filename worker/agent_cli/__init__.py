"""`agent`: a small command line over the run API (docs/cli.md).

Kept import-free, as `worker/__init__.py` is: the commands live in `main.py`, HTTP and the event
stream in `client.py`, the lines a person reads in `render.py`, exit codes in `errors.py`.
"""

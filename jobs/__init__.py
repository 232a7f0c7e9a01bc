"""The background training worker and the commands that feed it.

The worker talks to the UI only through the database: runs, progress rows, the model
registry, suggestions and its heartbeat row.
"""

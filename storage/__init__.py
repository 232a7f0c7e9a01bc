"""The annotation database: schema, sessions, repository functions, import and export.

Repository functions take a Session first and never commit; callers open sessions at the
edges with ``with session_factory.begin() as session:``.
"""

"""Alembic migrations of the directory's schema, run by `Directory.migrate()`.

A package, not only a folder, so that an installed wheel carries env.py and the revisions.
A new revision is a file `versions/NNNN_what_changed.py` in the shape of `script.py.mako`,
with `revision = "NNNN"` and `down_revision` the one before; it spells out its own column
types instead of importing `directory.schema`, which will have moved on by then.
`tests/directory/test_migrations.py` checks that upgrading to head builds exactly what
`directory.schema` describes.
"""

"""Where a run's results go: the sink protocol (``base``), the SQL sink (``sql``) and annotated
images (``annotate``)."""

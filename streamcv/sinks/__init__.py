"""Where a run's results go: the sink protocol (``base``), the SQL sink (``sql``), annotated
images (``annotate``), annotated videos and stills (``media``) and snapshots (``snapshots``)."""

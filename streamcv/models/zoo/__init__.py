"""The model catalogue: each module here registers the entries of one model family."""

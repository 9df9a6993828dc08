"""The spider that crawls a source of any format (base.py)."""

"""HTML pages: public pages, subscription pages, agency pages, and their languages."""

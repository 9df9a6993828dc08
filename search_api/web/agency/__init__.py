"""Web pages for agencies (signed in with an API key): their sources and curated records."""

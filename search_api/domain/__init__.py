"""The domain: records, sources, vocabularies, markets, products, languages.

It imports nothing else of ours (but the leaf `search_api.errors`).
"""

"""Use cases, called by the JSON routers, the web pages, the scheduler and the crawlers alike.

No module here imports FastAPI: a use case takes the store, the backend and the settings, and
raises the project's own errors (search_api/errors.py), which the app turns into answers.
"""

"""The ``havip`` command line: thin commands over :mod:`havip.client`, and ``havip serve``.

``main`` is the entry point (global options, one error handler); ``resources`` turns a
table of resources into list/show/delete commands; ``render`` prints tables or JSON;
``state`` and ``credentials`` decide which server and key a command uses. Only
``serve`` imports the store and the API, and only when it runs.
"""

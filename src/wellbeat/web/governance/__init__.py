"""Data-sharing agreements, consent and the governed query service (Django app).

The twin of the framework-free ``wellbeat.governance``: that package holds the rules (agreement
and consent validation, ``plan``/``release``, suppression of released cells) as pure functions;
this app stores agreements and consents, and ``service`` is the one governed read path of the
web app and the CLI (it calls the rules, runs the engine, writes the audit row)."""

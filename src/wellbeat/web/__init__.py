"""The hub's Django web application: accounts, audit, the JSON API, pages and the governance
app that other helpers plug in. Settings: ``wellbeat.web.settings``."""

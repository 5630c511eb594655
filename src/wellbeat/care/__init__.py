"""Care coordination and co-response, framework-free: the HSDS 3.0 service directory, FHIR R4
closed-loop referrals, the Part 2 consent gate, crisis triage rules and care measures.

Never imports Django: the web app (``wellbeat.web.care``, its twin) stores records and calls
these pure functions from its actions (``wellbeat.web.care.actions``). See docs/care.md and
docs/triage.md.
"""

"""Care coordination web app (label ``care``): the service directory, field encounters,
closed-loop referrals with the Part 2 gate, follow-ups, crisis triage calls and measures.
Domain logic lives in the framework-free ``wellbeat.care`` (its twin); this app stores,
authorises, audits and renders. State changes go through the ``actions`` package."""

"""Care coordination web app (label ``care``): the service directory, field encounters,
closed-loop referrals with the Part 2 gate, follow-ups, crisis triage calls and measures.
Domain logic lives in the framework-free ``wellbeat.care``; this app stores, authorises,
audits and renders."""

"""Joint surveillance: alerts (detection job, lifecycle, evidence), subscriptions and delivery,
the situational overview, indicator explorer and alert pages. See docs/surveillance.md."""

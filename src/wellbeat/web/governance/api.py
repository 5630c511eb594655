"""Governance endpoints, mounted by the hub's NinjaAPI at /api/governance."""

from ninja import Router

router = Router(tags=["governance"])
